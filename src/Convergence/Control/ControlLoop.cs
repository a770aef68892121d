using System.Diagnostics;
using Convergence.Commands;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Solver;
using Convergence.Status;

namespace Convergence.Control;

/// <summary>
/// Runs a solver to its end on one rank, in lock-step with the other ranks: reduces the residual, decides
/// convergence from the global value, and applies commands at agreed sync boundaries.
/// </summary>
/// <remarks>
/// <para>
/// Every rank runs an identical loop. Between syncs an iteration costs the solver's own work, the residual
/// reduction the solver needs anyway, and a counter compare. At a sync the residual reduction carries a
/// small header (<see cref="HeaderLength"/> doubles, summed): rank 0's "a command is waiting" flag, rank 0's
/// distance to the next sync, and per-rank event votes. Only when a command waits does one broadcast of a
/// fixed-size <see cref="CommandPacket"/> follow. All control decisions come from these collectives, so
/// every rank takes them at the same iteration.
/// </para>
/// <para>Call <see cref="Run"/> once, on the thread that owns MPI.</para>
/// </remarks>
public sealed class ControlLoop
{
    /// <summary>Doubles in the sync header.</summary>
    public const int HeaderLength = 4;

    private const int SlotResidual = 0;
    private const int SlotCommandWaiting = 1;
    private const int SlotNextDistance = 2;
    private const int SlotEvents = 3;
    private const long MaxDistance = 1 << 24;

    private readonly IIterativeSolver _solver;
    private readonly ICoordinator _coordinator;
    private readonly RunOptions _options;
    private readonly RankZeroServices? _services;
    private readonly double[] _header = new double[HeaderLength];
    private readonly long _syncIntervalTicks;
    private long _lastSyncTimestamp;
    private long _lastSyncTotal;
    private long _distance = 1;

    /// <summary>Prepares the loop; <paramref name="services"/> is required on rank 0 and ignored elsewhere.</summary>
    public ControlLoop(IIterativeSolver solver, ICoordinator coordinator, RunOptions options, RankZeroServices? services)
    {
        _solver = solver;
        _coordinator = coordinator;
        _options = options;
        _services = coordinator.Rank == 0 ? services : null;
        _syncIntervalTicks = (long)(options.Sync.Interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Raised on every rank just before a checkpoint command is applied; set by the checkpoint layer.</summary>
    public Func<ControlLoopState, string?>? CheckpointHandler { get; init; }

    /// <summary>Raised on every rank for <c>RESTART checkpoint</c>; returns the iteration restored, or a reason it could not.</summary>
    public Func<ControlLoopState, (bool Restored, string Note)>? RestoreHandler { get; init; }

    /// <summary>Runs until convergence, a command, the iteration limit or divergence.</summary>
    public RunResult Run()
    {
        var started = Stopwatch.GetTimestamp();
        var state = new ControlLoopState { Tolerance = _options.Tolerance, Residual = double.NaN };
        _solver.Initialize(new SolverContext(_coordinator.Rank, _coordinator.Size, _coordinator, _options, 0));
        var norm = _solver.Norm;
        var maxIterations = _options.MaxIterations;
        long nextSync = 1;
        _lastSyncTimestamp = started;
        RunOutcome? outcome = null;
        string? message = null;

        while (outcome is null)
        {
            var local = _solver.Iterate();
            state.Iteration++;
            state.TotalIterations++;

            if (state.TotalIterations != nextSync)
            {
                // The no-sync path: the solver's own reduction and compares, nothing else.
                state.Residual = Reduce(norm, local);
                outcome = Judge(state, maxIterations);
                continue;
            }

            nextSync = Sync(norm, local, state);
            _services?.Live.Record(state.Iteration, state.TotalIterations, state.Residual, state.Tolerance);
            if (_header[SlotCommandWaiting] > 0)
            {
                (outcome, message) = ApplyCommand(state);
                if (outcome is not null)
                {
                    break;
                }

                if (state.JustRestarted)
                {
                    state.JustRestarted = false;
                    continue;
                }
            }

            outcome = Judge(state, maxIterations);
        }

        var result = new RunResult(
            outcome.Value,
            state.Iteration,
            state.TotalIterations,
            state.Residual,
            state.Tolerance,
            Stopwatch.GetElapsedTime(started),
            state.Restarts,
            message ?? DefaultMessage(outcome.Value, state));
        if (outcome is RunOutcome.Converged or RunOutcome.Stopped or RunOutcome.IterationLimit)
        {
            _solver.Finish(result);
        }

        return result;
    }

    private static RunOutcome? Judge(ControlLoopState state, long maxIterations)
    {
        if (state.Residual < state.Tolerance)
        {
            return RunOutcome.Converged;
        }

        if (!double.IsFinite(state.Residual))
        {
            return RunOutcome.Diverged;
        }

        return state.Iteration >= maxIterations ? RunOutcome.IterationLimit : null;
    }

    private double Reduce(ResidualNorm norm, double local) => norm switch
    {
        ResidualNorm.L2 => Math.Sqrt(_coordinator.AllreduceSum(local)),
        ResidualNorm.Sum => _coordinator.AllreduceSum(local),
        _ => _coordinator.AllreduceMax(local),
    };

    private long Sync(ResidualNorm norm, double local, ControlLoopState state)
    {
        var header = _header.AsSpan();
        header.Clear();
        header[SlotResidual] = norm == ResidualNorm.Max ? 0 : local;
        if (_services is not null)
        {
            header[SlotCommandWaiting] = _services.Intake is { IsEmpty: false } ? 1 : 0;
            header[SlotNextDistance] = NextDistance(state.TotalIterations, header[SlotCommandWaiting] > 0);
        }

        _coordinator.AllreduceSum(header);
        state.Residual = norm switch
        {
            ResidualNorm.L2 => Math.Sqrt(header[SlotResidual]),
            ResidualNorm.Sum => header[SlotResidual],
            _ => _coordinator.AllreduceMax(local),
        };
        return state.TotalIterations + Math.Max(1, (long)header[SlotNextDistance]);
    }

    /// <summary>Rank 0 only: how many iterations until the next sync.</summary>
    private long NextDistance(long total, bool moreWaiting)
    {
        var now = Stopwatch.GetTimestamp();
        switch (_options.Sync.Mode)
        {
            case SyncMode.PiggyBack:
                _distance = 1;
                break;
            case SyncMode.EveryK:
                _distance = _options.Sync.K;
                break;
            default:
                var iterations = total - _lastSyncTotal;
                var ticks = now - _lastSyncTimestamp;
                if (iterations > 0 && ticks > 0)
                {
                    // Aim at the wall-time interval; grow at most 2x per sync so a sudden slowdown
                    // (a restart, a heavier phase) cannot push the next sync far beyond the target.
                    var target = (long)(_syncIntervalTicks * (double)iterations / ticks);
                    _distance = Math.Clamp(target, 1, Math.Min(_distance * 2, MaxDistance));
                }

                break;
        }

        _lastSyncTimestamp = now;
        _lastSyncTotal = total;
        return moreWaiting ? 1 : _distance;
    }

    private (RunOutcome? Outcome, string? Message) ApplyCommand(ControlLoopState state)
    {
        var packet = default(CommandPacket);
        var sequence = 0L;
        if (_services?.Intake is { } intake && intake.TryDequeue(out var pending))
        {
            sequence = pending.Sequence;
            packet = CommandPacket.From(pending.Command, sequence);
        }

        _coordinator.Broadcast(ref packet);
        var command = packet.ToCommand();
        var journal = _services?.Journal;
        var appliedAt = state.Iteration;
        var appliedAtTotal = state.TotalIterations;
        string? note = null;
        RunOutcome? outcome = null;
        string? message = null;
        switch (command.Kind)
        {
            case CommandKind.None:
                return (null, null);
            case CommandKind.Abort:
                outcome = RunOutcome.Aborted;
                message = $"ABORT received (seq {packet.Sequence}) at iteration {state.Iteration}";
                break;
            case CommandKind.Stop:
                outcome = RunOutcome.Stopped;
                message = $"STOP received (seq {packet.Sequence}) at iteration {state.Iteration}";
                break;
            case CommandKind.ChangeTolerance:
                note = FormattableString.Invariant($"tolerance {state.Tolerance:G6} -> {command.Value:G6}");
                state.Tolerance = command.Value;
                break;
            case CommandKind.Restart:
                Restart(state);
                note = $"restart #{state.Restarts}";
                break;
            case CommandKind.Checkpoint:
                if (CheckpointHandler is null)
                {
                    journal?.Declined(packet.Sequence, "checkpoints are not enabled for this job (see --checkpoint-dir)");
                    return (null, null);
                }

                note = CheckpointHandler(state);
                break;
            case CommandKind.RestartFromCheckpoint:
                if (RestoreHandler is null)
                {
                    journal?.Declined(packet.Sequence, "checkpoints are not enabled for this job (see --checkpoint-dir)");
                    return (null, null);
                }

                var (restored, restoreNote) = RestoreHandler(state);
                if (!restored)
                {
                    journal?.Declined(packet.Sequence, restoreNote);
                    return (null, null);
                }

                state.JustRestarted = true;
                _services?.Live.RecordRestart(state.Restarts);
                note = restoreNote;
                break;
            case CommandKind.Custom:
                _solver.ApplyCommand(command);
                break;
            default:
                throw new InvalidOperationException($"Command packet of unknown kind {packet.Kind}: ranks run different versions?");
        }

        journal?.Applied(packet.Sequence, appliedAt, appliedAtTotal, note);
        return (outcome, message);
    }

    private void Restart(ControlLoopState state)
    {
        state.Restarts++;
        state.Iteration = 0;
        state.Residual = double.NaN;
        state.JustRestarted = true;
        _solver.Initialize(new SolverContext(_coordinator.Rank, _coordinator.Size, _coordinator, _options, state.Restarts));
        _services?.Live.RecordRestart(state.Restarts);
    }

    private static string DefaultMessage(RunOutcome outcome, ControlLoopState state) => outcome switch
    {
        RunOutcome.Converged => FormattableString.Invariant($"residual {state.Residual:G6} below tolerance {state.Tolerance:G6}"),
        RunOutcome.IterationLimit => FormattableString.Invariant($"iteration limit reached with residual {state.Residual:G6}"),
        RunOutcome.Diverged => "the global residual is not a finite number",
        _ => outcome.ToString(),
    };
}
