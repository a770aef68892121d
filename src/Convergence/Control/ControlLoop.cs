using System.Diagnostics;
using System.Runtime.CompilerServices;
using Convergence.Checkpoints;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Criteria;
using Convergence.Hosting;
using Convergence.Options;
using Convergence.Signals;
using Convergence.Solver;

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
/// distance to the next sync, every rank's signal votes (stop, checkpoint, "the allocation ends soon") and
/// rank 0's own event (periodic checkpoint, deadline). A signal that reaches one rank only, or the ranks at different iterations, is
/// acted on by all at the first sync after it. Only when a command waits does one broadcast of a
/// fixed-size <see cref="CommandPacket"/> follow. All control decisions come from these collectives, so
/// every rank takes them at the same iteration.
/// </para>
/// <para>
/// With <see cref="SyncMode.PiggyBack"/>, events do not wait for the next sync: a rank with one waiting
/// makes the sign of that iteration's one-double residual reduction negative (−∞), and every rank joins
/// a full sync at once. The reduction's size is the uncontrolled solver's; the cost is a flag read.
/// </para>
/// <para>Call <see cref="Run"/> once, on the thread that owns MPI.</para>
/// </remarks>
public sealed class ControlLoop
{
    /// <summary>Doubles in the sync header.</summary>
    public const int HeaderLength = 7;

    private const int SlotResidual = 0;
    private const int SlotCommandWaiting = 1;
    private const int SlotNextDistance = 2;
    private const int SlotEvents = 3;
    private const int SlotCheckpointVotes = 4;
    private const int SlotRootEvent = 5;
    private const int SlotDeadlineVotes = 6;
    private const int RootEventCheckpoint = 1;
    private const int RootEventDeadline = 2;
    private const long MaxDistance = 1 << 24;

    // The status page is rewritten about once a second; recording progress more often than every 10 ms
    // buys nothing and, at a sync every iteration, a clock read and a lock would dominate the boundary.
    private static readonly long StatusRecordTicks = Stopwatch.Frequency / 100;

    private readonly IIterativeSolver _solver;
    private readonly ICoordinator _coordinator;
    private readonly RunOptions _options;
    private readonly RankZeroServices? _services;
    private readonly double[] _header = new double[HeaderLength];
    private readonly long _syncIntervalTicks;
    private long _lastSyncTimestamp;
    private long _lastSyncTotal;
    private long _distance = 1;
    private bool _flagEvents;
    private long _nextRecord;
    private long _recordDistance = 1;
    private long _lastRecordTimestamp;
    private long _lastRecordTotal;

    // The run's convergence test; null for the default, which stays inline in the loop (see InlineEnd).
    private IConvergenceTest? _test;
    private ConvergenceVerdict _verdict;
    private bool _testDecided;
    private bool _notConverging;

    /// <summary>Prepares the loop; <paramref name="services"/> is required on rank 0 and ignored elsewhere.</summary>
    public ControlLoop(IIterativeSolver solver, ICoordinator coordinator, RunOptions options, RankZeroServices? services)
    {
        _solver = solver;
        _coordinator = coordinator;
        _options = options;
        _services = coordinator.Rank == 0 ? services : null;
        _syncIntervalTicks = (long)(options.Sync.Interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>
    /// Writes a checkpoint on every rank (collective); gets the reason (<c>command</c>, <c>periodic</c>,
    /// <c>signal</c>, <c>stop</c>, <c>deadline</c>) and returns a note for the journal. Set by the checkpoint layer.
    /// </summary>
    public Func<ControlLoopState, string, string?>? CheckpointHandler { get; init; }

    /// <summary>Raised on every rank for <c>RESTART checkpoint</c>; returns the iteration restored, or a reason it could not.</summary>
    public Func<ControlLoopState, (bool Restored, string Note)>? RestoreHandler { get; init; }

    /// <summary>Called on every rank at start, after the solver's initialisation, when the job resumes from a checkpoint.</summary>
    public Func<ControlLoopState, string>? ResumeHandler { get; init; }

    /// <summary>This rank's caught signals; their votes ride in the sync header (<see cref="SlotEvents"/> = stop, then checkpoint).</summary>
    public SignalVotes? Signals { get; init; }

    /// <summary>Rank 0's periodic checkpoint clock; ignored on other ranks.</summary>
    public CheckpointSchedule? Schedule { get; init; }

    /// <summary>Rank 0's wall-time budget; ignored on other ranks.</summary>
    public WallTimeBudget? Budget { get; init; }

    /// <summary>
    /// The log of a rank other than 0: it gets <c>command applied seq=N id=ID iteration=I total=T</c> for
    /// every command this rank applies (rank 0's journal writes the same line with the text), so the job's
    /// log shows each rank applying each command at the same iteration. Ignored on rank 0.
    /// </summary>
    public Action<string>? RankLog { get; init; }
    /// <summary>This rank's failure route: a background thread's failure is turned into this thread's exception at the next sync.</summary>
    internal FailureRoute? Failures { get; init; }

    /// <summary>Runs until convergence, a command, the iteration limit or divergence.</summary>
    public RunResult Run()
    {
        var started = Stopwatch.GetTimestamp();
        var state = new ControlLoopState { Tolerance = _options.Tolerance, Residual = double.NaN };
        _solver.Initialize(new SolverContext(_coordinator.Rank, _coordinator.Size, _coordinator, _options, 0));
        if (ResumeHandler is not null)
        {
            ResumeHandler(state);
            _services?.Live.Record(state.Iteration, state.TotalIterations, state.Residual, state.Tolerance);
        }

        _test = ConvergenceTests.Combine(_solver.ConvergenceTest, _options.RelativeTolerance, _options.DivergenceFactor, _options.Stagnation);
        var schedule = _services is null ? null : Schedule;
        schedule?.Reset(state.TotalIterations);
        var norm = _solver.Norm;
        var maxIterations = _options.MaxIterations;

        // Piggy-back: a waiting event travels as the sign of every iteration's residual reduction, so
        // the message stays one double; a maximum norm has no sign to spare and syncs on the cadence only.
        _flagEvents = _options.Sync.Mode == SyncMode.PiggyBack && norm != ResidualNorm.Max;
        var nextSync = state.TotalIterations + 1;
        _lastSyncTotal = state.TotalIterations;
        _lastSyncTimestamp = started;
        _lastRecordTimestamp = started;
        _lastRecordTotal = state.TotalIterations;
        _nextRecord = nextSync;
        _recordDistance = 1;
        RunOutcome? outcome = null;
        string? message = null;
        var cause = StopCause.None;

        while (outcome is null)
        {
            if (!IterateToSync(state, nextSync, norm, maxIterations, out var local))
            {
                // Converged, diverged or at the limit between two syncs.
                outcome = Judge(state, maxIterations, evaluated: true);
                continue;
            }

            nextSync = Sync(norm, local, state);
            if (_services is not null && state.TotalIterations >= _nextRecord)
            {
                RecordStatus(state);
            }

            if (_header[SlotEvents] > 0 || _header[SlotDeadlineVotes] > 0 || _header[SlotRootEvent] == RootEventDeadline)
            {
                (outcome, message, cause) = StopForEvent(state);
                break;
            }

            if (_header[SlotCheckpointVotes] > 0 || _header[SlotRootEvent] == RootEventCheckpoint)
            {
                Checkpoint(state, _header[SlotCheckpointVotes] > 0 ? "signal" : "periodic");
            }

            if (_header[SlotCommandWaiting] > 0)
            {
                (outcome, message) = ApplyCommand(state);
                if (outcome is not null)
                {
                    cause = outcome == RunOutcome.Stopped ? StopCause.Command : StopCause.None;
                    break;
                }

                if (state.JustRestarted)
                {
                    state.JustRestarted = false;
                    ResetTest();
                    continue;
                }
            }

            outcome = Judge(state, maxIterations, evaluated: false);
        }

        var result = new RunResult(
            outcome.Value,
            state.Iteration,
            state.TotalIterations,
            state.Residual,
            state.Tolerance,
            Stopwatch.GetElapsedTime(started),
            state.Restarts,
            message ?? (_testDecided ? _test!.Reason : DefaultMessage(outcome.Value, state)))
        {
            StopCause = cause,
        };
        if (outcome is RunOutcome.Converged or RunOutcome.Stopped or RunOutcome.IterationLimit or RunOutcome.Stagnated)
        {
            _solver.Finish(result);
        }

        return result;
    }

    /// <summary>
    /// The hot path: iterates up to the sync iteration (returns true with that iteration's local residual
    /// contribution, not yet reduced) or until the residual or the iteration limit ends the run between
    /// syncs (returns false).
    /// </summary>
    /// <remarks>
    /// Counters, residual and tolerance live in locals here, so a boundary with no sync due is the solver's
    /// own reduction and a few register compares: no store to and reload from the state object on the
    /// loop's critical path. The state is written back on the way out, before anything else reads it.
    /// </remarks>
    private bool IterateToSync(ControlLoopState state, long nextSync, ResidualNorm norm, long maxIterations, out double local)
    {
        // One dispatch straight to the compiled loop: a second level of calls showed at a sync every iteration.
        if (_test is null)
        {
            return _flagEvents
                ? IterateToSync(new FlaggedReduction(this, norm == ResidualNorm.L2), default(InlineEnd), state, nextSync, maxIterations, out local)
                : IterateToSync(new PlainReduction(this, norm), default(InlineEnd), state, nextSync, maxIterations, out local);
        }

        return _flagEvents
            ? IterateToSync(new FlaggedReduction(this, norm == ResidualNorm.L2), new TestedEnd(this), state, nextSync, maxIterations, out local)
            : IterateToSync(new PlainReduction(this, norm), new TestedEnd(this), state, nextSync, maxIterations, out local);
    }

    /// <summary>
    /// The loop itself, compiled once per reduction and end test: both are structs, so each combination gets
    /// its own machine code with both inlined; the default test (<see cref="InlineEnd"/>) is the same compare
    /// the loop had before tests were pluggable, and pays nothing for <see cref="TestedEnd"/>.
    /// </summary>
    private bool IterateToSync<TReduction, TEnd>(TReduction reduction, TEnd end, ControlLoopState state, long nextSync, long maxIterations, out double local)
        where TReduction : struct, IStretchReduction
        where TEnd : struct, IStretchEnd
    {
        var iteration = state.Iteration;
        var total = state.TotalIterations;
        var residual = state.Residual;
        var tolerance = state.Tolerance;
        var reachedSync = false;
        while (true)
        {
            local = _solver.Iterate();
            iteration++;
            total++;
            if (total == nextSync || !reduction.TryReduce(local, out var reduced))
            {
                reachedSync = true;
                break;
            }

            residual = reduced;
            if (end.Ends(iteration, residual, tolerance) || iteration >= maxIterations)
            {
                break;
            }
        }

        state.Iteration = iteration;
        state.TotalIterations = total;
        state.Residual = residual;
        return reachedSync;
    }

    /// <summary>How an iteration between syncs reduces its residual; false asks every rank for a full sync now.</summary>
    private interface IStretchReduction
    {
        bool TryReduce(double local, out double residual);
    }

    /// <summary>Every cadence but piggy-back: the solver's own reduction, nothing else.</summary>
    private readonly struct PlainReduction(ControlLoop loop, ResidualNorm norm) : IStretchReduction
    {
        public bool TryReduce(double local, out double residual)
        {
            residual = loop.Reduce(norm, local);
            return true;
        }
    }

    /// <summary>
    /// Piggy-back (L2 or sum norm): a rank with an event waiting (rank 0: a command; any rank: a signal)
    /// contributes −∞ instead of its residual part. The sum is then −∞ or NaN on every rank alike, and every
    /// rank leaves for a full sync at this iteration, whose header carries the real residual again. A NaN
    /// from a diverging solver takes the same way and is judged there.
    /// </summary>
    private readonly struct FlaggedReduction(ControlLoop loop, bool l2) : IStretchReduction
    {
        public bool TryReduce(double local, out double residual)
        {
            var sum = loop._coordinator.AllreduceSum(loop.EventWaiting() ? double.NegativeInfinity : local);
            residual = l2 ? Math.Sqrt(sum) : sum;
            return !(double.IsNaN(sum) || double.IsNegativeInfinity(sum));
        }
    }

    /// <summary>Whether an iteration's global residual ends the run between syncs.</summary>
    private interface IStretchEnd
    {
        bool Ends(long iteration, double residual, double tolerance);
    }

    /// <summary>The default test, inline: converged below the tolerance, diverged when not finite.</summary>
    private readonly struct InlineEnd : IStretchEnd
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Ends(long iteration, double residual, double tolerance) => residual < tolerance || !double.IsFinite(residual);
    }

    /// <summary>A configured <see cref="IConvergenceTest"/>; the verdict is kept for <see cref="Judge(ControlLoopState, long, bool)"/>.</summary>
    private readonly struct TestedEnd(ControlLoop loop) : IStretchEnd
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Ends(long iteration, double residual, double tolerance) => !double.IsFinite(residual) || loop.Evaluate(iteration, residual, tolerance);
    }

    /// <summary>
    /// Asks the configured test about one iteration (every rank, from the reduced residual only, so every
    /// rank's test history is the same); rank 0 shows a "not converging" warning while the test gives one.
    /// </summary>
    private bool Evaluate(long iteration, double residual, double tolerance)
    {
        _verdict = _test!.Check(iteration, residual, tolerance);
        var warn = _verdict == ConvergenceVerdict.NotConverging;
        if (warn != _notConverging)
        {
            _notConverging = warn;
            _services?.Live.RecordWarning(warn ? _test.Reason : null);
        }

        return _verdict is ConvergenceVerdict.Converged or ConvergenceVerdict.Diverged or ConvergenceVerdict.Stagnated;
    }

    /// <summary>Every rank, at a restart or a restore: the test's history starts again.</summary>
    private void ResetTest()
    {
        if (_test is null)
        {
            return;
        }

        _test.Reset();
        _verdict = ConvergenceVerdict.Continue;
        if (_notConverging)
        {
            _notConverging = false;
            _services?.Live.RecordWarning(null);
        }
    }

    /// <summary>
    /// The end of the run for the iteration just done, or null. With a configured test, <paramref name="evaluated"/>
    /// says the stretch has already asked it about this iteration (it is asked exactly once per iteration).
    /// </summary>
    private RunOutcome? Judge(ControlLoopState state, long maxIterations, bool evaluated)
    {
        if (_test is null)
        {
            return Judge(state, maxIterations);
        }

        if (!double.IsFinite(state.Residual))
        {
            return RunOutcome.Diverged;
        }

        if (!evaluated)
        {
            Evaluate(state.Iteration, state.Residual, state.Tolerance);
        }

        RunOutcome? outcome = _verdict switch
        {
            ConvergenceVerdict.Converged => RunOutcome.Converged,
            ConvergenceVerdict.Diverged => RunOutcome.Diverged,
            ConvergenceVerdict.Stagnated => RunOutcome.Stagnated,
            _ => null,
        };
        _testDecided = outcome is not null;
        return outcome ?? (state.Iteration >= maxIterations ? RunOutcome.IterationLimit : null);
    }

    /// <summary>Piggy-back only: does this rank have something every rank must act on now?</summary>
    private bool EventWaiting() => (Signals?.HasPending ?? false) || _services?.Intake is { IsEmpty: false };

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
        _ => _coordinator.AllreduceMax(MaxOperand(local)),
    };

    /// <summary>
    /// A NaN local maximum goes into the reduction as +∞. MPI_MAX computes <c>a &gt; b ? a : b</c>, which is
    /// not commutative with a NaN: MPICH 4.0's recursive doubling then leaves NaN on some ranks and a finite
    /// maximum on others, and the ranks would part ways (see docs/ARCHITECTURE.md, "Is the reduced residual
    /// the same on every rank?"). +∞ is ordered, so every rank gets +∞ and ends DIVERGED at the same iteration.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double MaxOperand(double local) => double.IsNaN(local) ? double.PositiveInfinity : local;

    private long Sync(ResidualNorm norm, double local, ControlLoopState state)
    {
        // A background thread failed (already recorded): this rank leaves here and its main thread
        // aborts the job, the only thread allowed to call MPI. A volatile read, at syncs only.
        Failures?.ThrowIfPending();
        var header = _header.AsSpan();
        header.Clear();
        header[SlotResidual] = norm == ResidualNorm.Max ? 0 : local;
        if (Signals is not null)
        {
            var (stop, checkpoint, deadline) = Signals.TakeAll();
            header[SlotEvents] = stop ? 1 : 0;
            header[SlotCheckpointVotes] = checkpoint ? 1 : 0;
            header[SlotDeadlineVotes] = deadline ? 1 : 0;
        }

        if (_services is not null)
        {
            header[SlotCommandWaiting] = _services.Intake is { IsEmpty: false } ? 1 : 0;
            var distance = NextDistance(state.TotalIterations, header[SlotCommandWaiting] > 0);
            header[SlotRootEvent] = RootEvent(state.TotalIterations, distance);
            header[SlotNextDistance] = distance;
        }

        _coordinator.AllreduceSum(header);
        state.Residual = norm switch
        {
            ResidualNorm.L2 => Math.Sqrt(header[SlotResidual]),
            ResidualNorm.Sum => header[SlotResidual],
            _ => _coordinator.AllreduceMax(MaxOperand(local)),
        };
        return state.TotalIterations + Math.Max(1, (long)header[SlotNextDistance]);
    }

    /// <summary>Rank 0 only: how many iterations until the next sync.</summary>
    private long NextDistance(long total, bool moreWaiting)
    {
        // Only the time-based cadences and rank 0's clocks (deadline, timed checkpoints) need the time: a
        // fixed cadence may sync at every iteration, where a clock read would be most of the boundary.
        var now = _options.Sync.Mode != SyncMode.EveryK || Schedule is not null || Budget is not null
            ? Stopwatch.GetTimestamp()
            : _lastSyncTimestamp;
        switch (_options.Sync.Mode)
        {
            case SyncMode.EveryK:
                _distance = _options.Sync.K;
                break;
            default:
                _distance = Adapt(_distance, total - _lastSyncTotal, now - _lastSyncTimestamp, _syncIntervalTicks);
                break;
        }

        _lastSyncTimestamp = now;
        _lastSyncTotal = total;

        // An iteration-based periodic checkpoint gets a sync exactly where it is due.
        var untilCheckpoint = Schedule?.IterationsUntilDue(total) ?? long.MaxValue;
        return moreWaiting ? 1 : Math.Min(_distance, untilCheckpoint);
    }

    /// <summary>Rank 0 only: a deadline stop or a periodic checkpoint decided from rank 0's clock, for every rank.</summary>
    private int RootEvent(long total, long distance)
    {
        if (Budget is not null && Budget.MustStop(total, _lastSyncTimestamp, distance))
        {
            return RootEventDeadline;
        }

        return Schedule is not null && Schedule.IsDue(total, _lastSyncTimestamp) ? RootEventCheckpoint : 0;
    }

    /// <summary>Every rank: writes a checkpoint if checkpoints are enabled; rank 0 feeds the duration to its clocks.</summary>
    private string? Checkpoint(ControlLoopState state, string reason)
    {
        if (CheckpointHandler is null)
        {
            return null;
        }

        var started = Stopwatch.GetTimestamp();
        var note = CheckpointHandler(state, reason);
        if (_services is not null)
        {
            var now = Stopwatch.GetTimestamp();
            Schedule?.Reset(state.TotalIterations);
            Budget?.CheckpointTook(now - started, state.TotalIterations, now);

            // The checkpoint's time must not count as iteration time in the adaptive cadence either.
            _lastSyncTimestamp += now - started;
        }

        return note;
    }

    /// <summary>
    /// Every rank: a stop asked for by a signal (any rank), the scheduler's advance signal (any rank) or rank
    /// 0's deadline, with a checkpoint first. A stop signal wins over the others: a user's <c>scancel</c> ends
    /// a chain even when the allocation was about to end anyway.
    /// </summary>
    private (RunOutcome, string, StopCause) StopForEvent(ControlLoopState state)
    {
        var cause = _header[SlotEvents] > 0
            ? StopCause.Signal
            : _header[SlotDeadlineVotes] > 0 ? StopCause.AdvanceSignal : StopCause.Deadline;
        var reason = cause switch
        {
            StopCause.Signal => FormattableString.Invariant($"stop signal on {_header[SlotEvents]:0} of {_coordinator.Size} rank(s)"),
            StopCause.AdvanceSignal => FormattableString.Invariant($"advance signal (the allocation ends soon) on {_header[SlotDeadlineVotes]:0} of {_coordinator.Size} rank(s)"),
            _ => FormattableString.Invariant($"wall-time deadline {Budget?.Deadline.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ} near"),
        };
        var note = Checkpoint(state, cause switch { StopCause.Signal => "signal stop", StopCause.AdvanceSignal => "advance signal", _ => "deadline" });
        var message = $"{reason}: stopped at iteration {state.Iteration}{(note is null ? " (no checkpoint: the solver does not support them)" : $"; {note}")}";
        return (RunOutcome.Stopped, message, cause);
    }

    /// <summary>Rank 0 only: hands progress to the status page, at most about every 10 ms of wall time.</summary>
    private void RecordStatus(ControlLoopState state)
    {
        _services!.Live.Record(state.Iteration, state.TotalIterations, state.Residual, state.Tolerance);
        var now = Stopwatch.GetTimestamp();
        _recordDistance = Adapt(_recordDistance, state.TotalIterations - _lastRecordTotal, now - _lastRecordTimestamp, StatusRecordTicks);
        _lastRecordTimestamp = now;
        _lastRecordTotal = state.TotalIterations;
        _nextRecord = state.TotalIterations + _recordDistance;
    }

    /// <summary>The distance in iterations that took about <paramref name="targetTicks"/> at the last measured rate.</summary>
    private static long Adapt(long distance, long iterations, long ticks, long targetTicks)
    {
        if (iterations <= 0 || ticks <= 0)
        {
            return distance;
        }

        // Aim at the wall-time interval; grow at most 2x per step so a sudden slowdown (a restart, a
        // heavier phase) cannot push the next event far beyond the target.
        var target = (long)(targetTicks * (double)iterations / ticks);
        return Math.Clamp(target, 1, Math.Min(distance * 2, MaxDistance));
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
                note = Checkpoint(state, "stop");
                message = $"STOP received (seq {packet.Sequence}) at iteration {state.Iteration}{(note is null ? string.Empty : $"; {note}")}";
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

                note = Checkpoint(state, "command");
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
        if (_coordinator.Rank != 0 && RankLog is not null)
        {
            RankLog(FormattableString.Invariant($"command applied seq={packet.Sequence} id={command.ClientId ?? "-"} iteration={appliedAt} total={appliedAtTotal}"));
        }

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
