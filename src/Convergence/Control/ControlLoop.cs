using System.Diagnostics;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Criteria;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Control;

/// <summary>
/// Runs a solver to its end on one rank, in lock-step with the other ranks: reduces the residual, decides
/// convergence from the global value, and applies commands at agreed sync boundaries.
/// </summary>
/// <remarks>
/// <para>
/// Every rank runs an identical loop. Between syncs an iteration costs the solver's own work, the residual
/// reduction the solver needs anyway, and a counter compare. At a sync the residual reduction carries the
/// <see cref="SyncHeader"/> (rank 0's command flag and distance to the next sync, every rank's signal votes,
/// rank 0's clocks' event). Only when a command waits does one broadcast of a fixed-size
/// <see cref="CommandPacket"/> follow. All control decisions come from these collectives, so every rank
/// takes them at the same iteration. Under piggy-back a waiting event makes that iteration's one-double
/// reduction negative (<see cref="FlaggedReduction"/>) and every rank joins a sync at once.
/// </para>
/// <para>
/// The parts: <see cref="SyncHeader"/> (the header's slots), <see cref="Cadence"/> (when to sync and when
/// rank 0 records status), <see cref="BuiltInCommands"/> (what a command means, shared with the MathNet
/// adapter), <see cref="LoopConvergence"/> (the convergence test), <see cref="ILoopEvents"/> (signals,
/// failures, rank 0's clocks) and <see cref="ICheckpointHandler"/>. Call <see cref="Run"/> once, on the
/// thread that owns MPI.
/// </para>
/// </remarks>
public sealed class ControlLoop
{
    /// <summary>Doubles in the sync header.</summary>
    public const int HeaderLength = SyncHeader.Length;

    private readonly IIterativeSolver _solver;
    private readonly ICoordinator _coordinator;
    private readonly RunOptions _options;
    private readonly RankZeroServices? _services;
    private readonly ILoopEvents? _events;
    private readonly ICheckpointHandler? _checkpoints;
    private readonly Action<string>? _rankLog;
    private readonly SyncHeader _header = new();
    private readonly RankZeroPacer? _pacer;
    private LoopConvergence _convergence = null!; // built in Run, after the solver's initialisation
    private readonly bool _flagEvents;

    // The paused rounds' reduction may be left unfinished by a rank that fails while waiting (the job is then
    // going down): the library may still write into it, so it is memory that never moves.
    private readonly double[] _idleSlots = GC.AllocateArray<double>(SyncHeader.Length, pinned: true);
    private ResidualNorm _norm;
    private readonly RankActivity _activity;

    /// <summary>Prepares the loop.</summary>
    /// <param name="solver">This rank's share of the problem.</param>
    /// <param name="coordinator">The collectives of this job.</param>
    /// <param name="options">The run's options, the same on every rank.</param>
    /// <param name="services">Rank 0's intake, journal and live status; required on rank 0, ignored elsewhere.</param>
    /// <param name="events">Signals, background failures and rank 0's clocks; null for none.</param>
    /// <param name="checkpoints">Checkpoint writing and loading; null when the job has none.</param>
    /// <param name="rankLog">
    /// On ranks other than 0: gets <c>command applied seq=N id=ID iteration=I total=T</c> for every command
    /// applied (rank 0's journal writes the same line with the text). Ignored on rank 0.
    /// </param>
    /// <param name="activity">Where this rank shows the iteration it works on, for the stall watchdog; null for none.</param>
    public ControlLoop(
        IIterativeSolver solver,
        ICoordinator coordinator,
        RunOptions options,
        RankZeroServices? services,
        ILoopEvents? events = null,
        ICheckpointHandler? checkpoints = null,
        Action<string>? rankLog = null,
        RankActivity? activity = null)
    {
        _activity = activity ?? new RankActivity();
        (_solver, _coordinator, _options) = (solver ?? throw new ArgumentNullException(nameof(solver)),
            coordinator ?? throw new ArgumentNullException(nameof(coordinator)), options ?? throw new ArgumentNullException(nameof(options)));
        _services = coordinator.Rank == 0 ? services : null;
        _events = events;
        _checkpoints = checkpoints;
        _rankLog = coordinator.Rank == 0 ? null : rankLog;
        _pacer = _services is null ? null : new RankZeroPacer(options.Sync, _services, events);

        // Piggy-back: a waiting event travels as the sign of every iteration's residual reduction, so the
        // message stays one double; a maximum norm has no sign to spare and syncs on the cadence only.
        _flagEvents = options.Sync.Mode == SyncMode.PiggyBack && solver.Norm != ResidualNorm.Max;
    }

    /// <summary>Runs until convergence, a command, a signal, the deadline, the iteration limit or divergence.</summary>
    public RunResult Run()
    {
        var started = Stopwatch.GetTimestamp();
        _norm = _solver.Norm;
        var state = new ControlLoopState { Tolerance = _options.Tolerance, Residual = double.NaN };
        var actions = new SyncActions(_solver, _coordinator, _options, state, _services, _pacer, _events, _checkpoints, _rankLog);
        _solver.Initialize(new SolverContext(_coordinator.Rank, _coordinator.Size, _coordinator, _options, 0));
        if (_checkpoints is not null && _options.Resume)
        {
            _checkpoints.ResumeAtStart(state);
            _services?.Live.Record(state.Iteration, state.TotalIterations, state.Residual, state.Tolerance);
        }

        // Asked after the solver's initialisation: a solver may build its test there.
        _convergence = new LoopConvergence(
            ConvergenceTests.Combine(_solver.ConvergenceTest, _options.RelativeTolerance, _options.DivergenceFactor, _options.Stagnation),
            _services?.Live);

        var startTotal = state.TotalIterations;
        _pacer?.Start(startTotal, started);
        var nextSync = startTotal + 1;
        RunOutcome? outcome = null;
        string? message = null;
        var cause = StopCause.None;
        while (outcome is null)
        {
            // A paused loop has judged its iteration already (at the sync that paused it): its rounds only act.
            var paused = actions.Pause.IsPaused;
            if (paused)
            {
                PausedSync(state, actions.Pause);
                if (_header.RootEvent == RootEvent.Resume)
                {
                    actions.ResumeByTimer();
                }
            }
            else
            {
                if (!IterateToSync(state, nextSync, out var local))
                {
                    // Converged, diverged or at the limit between two syncs.
                    outcome = _convergence.Judge(state, _options.MaxIterations, evaluated: true);
                    continue;
                }

                nextSync = Sync(state, local);
                if (_header.Quiet)
                {
                    outcome = _convergence.Judge(state, _options.MaxIterations, evaluated: false);
                    continue;
                }
            }

            if (_header.Stops)
            {
                (outcome, message, cause) = actions.StopFor(_header);
                break;
            }

            if (_header.Checkpoints)
            {
                actions.Checkpoint(_header.CheckpointVotes > 0 ? "signal" : "periodic");
            }

            if (_header.CommandWaiting)
            {
                var effect = actions.ApplyNextCommand();
                if (effect.Outcome is { } ended)
                {
                    (outcome, message, cause) = (ended, effect.Message, ended == RunOutcome.Stopped ? StopCause.Command : StopCause.None);
                    break;
                }

                if (effect.Restarted)
                {
                    // The residual belongs to the state before: judge the next iteration's.
                    _convergence.Reset();
                    continue;
                }

                if (paused && effect.Declined is null && actions.LastCommandKind == CommandKind.ChangeTolerance)
                {
                    // A new tolerance applies to the iteration the ranks are held at: it may end the run now.
                    outcome = _convergence.Judge(state, _options.MaxIterations, evaluated: false);
                    continue;
                }
            }

            if (!paused)
            {
                outcome = _convergence.Judge(state, _options.MaxIterations, evaluated: false);
            }
        }

        var result = new RunResult(outcome.Value, state.Iteration, state.TotalIterations, state.Residual, state.Tolerance,
            Stopwatch.GetElapsedTime(started), state.Restarts, message ?? _convergence.Reason ?? DefaultMessage(outcome.Value, state))
        { StopCause = cause, StartTotalIterations = startTotal, Paused = actions.Pause.Total };
        if (outcome is RunOutcome.Converged or RunOutcome.Stopped or RunOutcome.IterationLimit or RunOutcome.Stagnated)
        {
            _solver.Finish(result);
        }

        return result;
    }

    /// <summary>Piggy-back only: does this rank have something every rank must act on now?</summary>
    internal bool EventWaiting() => (_events?.SignalPending ?? false) || _services?.Intake is { IsEmpty: false };

    /// <summary>
    /// The hot path: iterates up to the sync iteration (true, with that iteration's local residual, not yet
    /// reduced) or until the residual or the iteration limit ends the run between syncs (false). One dispatch
    /// to the loop compiled for this run's reduction and end test.
    /// </summary>
    private bool IterateToSync(ControlLoopState state, long nextSync, out double local)
    {
        var norm = _norm;
        if (_convergence.Test is null)
        {
            return _flagEvents
                ? IterateToSync(new FlaggedReduction(_coordinator, this, norm == ResidualNorm.L2), default(InlineEnd), state, nextSync, out local)
                : IterateToSync(new PlainReduction(_coordinator, norm), default(InlineEnd), state, nextSync, out local);
        }

        return _flagEvents
            ? IterateToSync(new FlaggedReduction(_coordinator, this, norm == ResidualNorm.L2), new TestedEnd(_convergence), state, nextSync, out local)
            : IterateToSync(new PlainReduction(_coordinator, norm), new TestedEnd(_convergence), state, nextSync, out local);
    }

    /// <summary>
    /// The loop itself, compiled once per reduction and end test (both structs, both inlined). Counters,
    /// residual and tolerance live in locals, so a boundary with no sync due is the solver's own reduction and
    /// a few register compares; the state is written back on the way out, before anything else reads it.
    /// </summary>
    private bool IterateToSync<TReduction, TEnd>(TReduction reduction, TEnd end, ControlLoopState state, long nextSync, out double local)
        where TReduction : struct, IStretchReduction
        where TEnd : struct, IStretchEnd
    {
        var (iteration, total, residual, tolerance, maxIterations) = (state.Iteration, state.TotalIterations, state.Residual, state.Tolerance, _options.MaxIterations);
        var reachedSync = false;
        var activity = _activity;
        while (true)
        {
            // One store: the stall watchdog's view of where this rank is (a background thread reads it).
            activity.Starting(total + 1);
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

        (state.Iteration, state.TotalIterations, state.Residual) = (iteration, total, residual);
        return reachedSync;
    }

    /// <summary>Every rank: the sync's one reduction of the header; returns the iteration of the next sync.</summary>
    private long Sync(ControlLoopState state, double local)
    {
        // A background thread failed (already recorded): this rank leaves here and its main thread aborts the
        // job, the only thread allowed to call MPI.
        _events?.ThrowIfFailed();
        var norm = _norm;
        _header.Begin(GlobalResidual.HeaderPart(norm, local), _events?.TakeSignals() ?? LoopSignals.None);
        if (_pacer is not null)
        {
            var (waiting, distance, rootEvent) = _pacer.PlanSync(state.TotalIterations, _services!.Intake is { IsEmpty: false });
            _header.SetRoot(waiting, distance, rootEvent);
        }

        _coordinator.AllreduceSum(_header.Slots);
        state.Residual = GlobalResidual.FromHeader(_coordinator, norm, _header.ResidualPart, local);
        _pacer?.Record(state);

        return state.TotalIterations + _header.NextDistance;
    }

    /// <summary>
    /// Every rank, while paused: one round of the header's reduction, without burning a core. Rank 0 sleeps until a
    /// command waits, a signal is caught, its clocks call (the deadline, the end of a timed pause) or
    /// <see cref="PausedRound"/> has passed (so the other ranks' votes are counted at least that often); the
    /// others wait in a non-blocking reduction, looking every <see cref="PausedPoll"/>. No residual is reduced:
    /// the ranks stay at the iteration they paused at, and periodic checkpoints wait for the resume (the state
    /// they would save does not change).
    /// </summary>
    private void PausedSync(ControlLoopState state, LoopPause pause)
    {
        _events?.ThrowIfFailed();
        var waiting = false;
        var rootEvent = RootEvent.None;
        if (_services is not null)
        {
            var roundEnd = Stopwatch.GetTimestamp() + (long)(PausedRound.TotalSeconds * Stopwatch.Frequency);

            // Waiting for the user, not stuck: the stall watchdog must not blame rank 0 for a pause.
            _activity.EnterWait();
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                waiting = _services.Intake is { IsEmpty: false };
                rootEvent = _events?.Decide(state.TotalIterations, now, 1) ?? RootEvent.None;
                if (rootEvent == RootEvent.Checkpoint)
                {
                    rootEvent = RootEvent.None;
                }

                if (rootEvent == RootEvent.None && pause.ResumeDue(now))
                {
                    rootEvent = RootEvent.Resume;
                }

                if (waiting || rootEvent != RootEvent.None || (_events?.SignalPending ?? false) || now >= roundEnd)
                {
                    break;
                }

                Thread.Sleep(PausedPoll);
                _events?.ThrowIfFailed();
            }

            _activity.LeaveWait();
            _services.Live.RecordPausedRound();
        }

        _header.Begin(0, _events?.TakeSignals() ?? LoopSignals.None);
        if (_services is not null)
        {
            _header.SetRoot(waiting, 1, rootEvent);
        }

        if (_coordinator is IIdleReduction idle)
        {
            _header.Slots.CopyTo(_idleSlots);
            idle.AllreduceSumIdle(_idleSlots, PausedPoll, _events is null ? null : _events.ThrowIfFailed);
            _idleSlots.CopyTo(_header.Slots);
        }
        else
        {
            _coordinator.AllreduceSum(_header.Slots);
        }
    }

    /// <summary>While paused: how often a rank looks (rank 0 at its intake and clocks, the others at the reduction).</summary>
    internal static TimeSpan PausedPoll { get; } = TimeSpan.FromMilliseconds(50);

    /// <summary>While paused: the longest round, so a signal caught on another rank is acted on within about this.</summary>
    internal static TimeSpan PausedRound { get; } = TimeSpan.FromSeconds(1);

    private static string DefaultMessage(RunOutcome outcome, ControlLoopState state) => outcome switch
    {
        RunOutcome.Converged => FormattableString.Invariant($"residual {state.Residual:G6} below tolerance {state.Tolerance:G6}"),
        RunOutcome.IterationLimit => FormattableString.Invariant($"iteration limit reached with residual {state.Residual:G6}"),
        RunOutcome.Diverged => "the global residual is not a finite number",
        _ => outcome.ToString(),
    };
}
