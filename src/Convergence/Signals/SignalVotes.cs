using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Convergence.Signals;

/// <summary>
/// This rank's signal catcher: a caught signal only sets a flag, and the flag becomes this rank's vote in
/// the next sync's summed reduction. Any rank may raise; all ranks act at the same iteration.
/// </summary>
/// <remarks>
/// <para>
/// The handler runs on a runtime thread, never inside the loop: it sets an int with an interlocked OR and
/// returns, so a signal costs the iteration path nothing. <see cref="Take"/> is called by the loop's thread
/// at sync boundaries only.
/// </para>
/// <para>
/// A stop signal is often delivered twice within milliseconds: <c>mpirun</c> (MPICH's hydra) forwards the
/// SIGTERM it gets to every rank, and Slurm signals every process of the step, the ranks included. So a
/// repeat of the same stop signal on a rank within <see cref="DuplicateWindow"/> of the first is caught as
/// the same request; a repeat after that is left to its default action, so a second Ctrl-C a few seconds
/// later still kills a job that hangs. Checkpoint signals are caught every time. Unix only; elsewhere
/// nothing is registered.
/// </para>
/// </remarks>
public sealed class SignalVotes : IDisposable
{
    private const int CheckpointBit = 1;
    private const int StopBit = 2;
    private const int DeadlineBit = 4;

    private static readonly Lock ProcessGate = new();
    private static SignalVotes? _process;

    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Action<string> _log;
    private readonly Dictionary<string, long> _firstStop = [];
    private readonly object _gate = new();
    private int _pending;

    /// <summary>Registers a handler for every signal in <paramref name="map"/>; <paramref name="log"/> receives one line per signal.</summary>
    public SignalVotes(SignalMap map, Action<string> log)
    {
        _log = log;
        Map = map;
        if (OperatingSystem.IsWindows() || OperatingSystem.IsBrowser())
        {
            return;
        }

        foreach (var (name, action) in map.Entries)
        {
            _registrations.Add(PosixSignalRegistration.Create(SignalMap.ToPosix(name), ctx => OnSignal(ctx, name, action)));
        }
    }

    /// <summary>A repeated stop signal within this time of the first is a duplicate delivery, not a second request.</summary>
    public static TimeSpan DuplicateWindow { get; } = TimeSpan.FromSeconds(3);

    /// <summary>The mapping in force.</summary>
    public SignalMap Map { get; }

    /// <summary>Raises a vote as if a signal mapped to <paramref name="action"/> had arrived (for other local event sources, e.g. a watchdog).</summary>
    public void Raise(SignalAction action)
    {
        var bit = action switch
        {
            SignalAction.Stop => StopBit,
            SignalAction.Checkpoint => CheckpointBit,
            SignalAction.Deadline => DeadlineBit,
            _ => 0,
        };
        Interlocked.Or(ref _pending, bit);
    }

    /// <summary>True while a vote waits to be taken; one volatile read, cheap enough for every iteration.</summary>
    public bool HasPending => Volatile.Read(ref _pending) != 0;

    /// <summary>Takes this rank's pending votes (and clears them): a stop vote, a checkpoint vote; an "allocation ends" vote counts as a stop.</summary>
    public (bool Stop, bool Checkpoint) Take()
    {
        var (stop, checkpoint, deadline) = TakeAll();
        return (stop || deadline, checkpoint);
    }

    /// <summary>Takes this rank's pending votes (and clears them): stop, checkpoint, and "the allocation ends soon" (<see cref="SignalAction.Deadline"/>).</summary>
    public (bool Stop, bool Checkpoint, bool Deadline) TakeAll()
    {
        var pending = Interlocked.Exchange(ref _pending, 0);
        return ((pending & StopBit) != 0, (pending & CheckpointBit) != 0, (pending & DeadlineBit) != 0);
    }

    /// <summary>
    /// A job's catcher, owned by the process: its registrations stay in place after the run, so a late
    /// signal while a rank finishes cleanly (result, MPI shutdown) does not kill it with the default action.
    /// The next call in the same process (the next job, e.g. in a test host) disposes the previous one, so
    /// registrations never pile up.
    /// </summary>
    /// <param name="map">The signals to catch.</param>
    /// <param name="log">Receives one line per signal.</param>
    public static SignalVotes CatchForProcess(SignalMap map, Action<string> log)
    {
        var votes = new SignalVotes(map, log);
        SignalVotes? previous;
        lock (ProcessGate)
        {
            previous = _process;
            _process = votes;
        }

        previous?.Dispose();
        return votes;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _registrations.Clear();
    }

    private void OnSignal(PosixSignalContext context, string name, SignalAction action)
    {
        if (action == SignalAction.Stop)
        {
            var now = Stopwatch.GetTimestamp();
            lock (_gate)
            {
                if (_firstStop.TryGetValue(name, out var first))
                {
                    if (Stopwatch.GetElapsedTime(first, now) < DuplicateWindow)
                    {
                        // The same request delivered twice (see remarks): caught, nothing more to do.
                        context.Cancel = true;
                        return;
                    }

                    _log($"signal SIG{name} again, {Stopwatch.GetElapsedTime(first, now).TotalSeconds:0.#} s after the first: default action");
                    return;
                }

                _firstStop[name] = now;
            }
        }

        context.Cancel = true;
        _log($"signal SIG{name} received: {Describe(action)}");
        Raise(action);
    }

    private static string Describe(SignalAction action) => action switch
    {
        SignalAction.Stop => "checkpoint and clean stop at the next sync",
        SignalAction.Checkpoint => "checkpoint at the next sync",
        SignalAction.Deadline => "the allocation ends soon: checkpoint and clean stop at the next sync (as at the deadline)",
        _ => "ignored (mapping)",
    };
}
