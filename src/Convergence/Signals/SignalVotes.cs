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
/// The first stop signal of a name on a rank is caught; the same signal a second time on the same rank is
/// left to its default action, so a second Ctrl-C or SIGTERM still kills a job that hangs. Checkpoint
/// signals are caught every time. Unix only; elsewhere nothing is registered.
/// </para>
/// </remarks>
public sealed class SignalVotes : IDisposable
{
    private const int CheckpointBit = 1;
    private const int StopBit = 2;

    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Action<string> _log;
    private readonly HashSet<string> _counted = [];
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

    /// <summary>The mapping in force.</summary>
    public SignalMap Map { get; }

    /// <summary>Raises a vote as if a signal mapped to <paramref name="action"/> had arrived (also used by tests).</summary>
    public void Raise(SignalAction action)
    {
        var bit = action switch
        {
            SignalAction.Stop => StopBit,
            SignalAction.Checkpoint => CheckpointBit,
            _ => 0,
        };
        Interlocked.Or(ref _pending, bit);
    }

    /// <summary>Takes this rank's pending votes (and clears them): a stop vote, a checkpoint vote.</summary>
    public (bool Stop, bool Checkpoint) Take()
    {
        var pending = Interlocked.Exchange(ref _pending, 0);
        return ((pending & StopBit) != 0, (pending & CheckpointBit) != 0);
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
        lock (_gate)
        {
            // A repeated stop signal on this rank after the first was acted on: let it kill (see remarks).
            if (action == SignalAction.Stop && !_counted.Add(name))
            {
                _log($"signal SIG{name} again: default action (the first one is still being handled)");
                return;
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
        _ => "ignored (mapping)",
    };
}
