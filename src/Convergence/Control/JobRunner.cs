using Convergence.Checkpoints;
using Convergence.Commands;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Output;
using Convergence.Signals;
using Convergence.Solver;
using Convergence.Status;

namespace Convergence.Control;

/// <summary>
/// One job on one rank: sets up rank 0's services (placeholder result, notifications watcher, status
/// reporter), runs the <see cref="ControlLoop"/>, and writes the final result, page and summary.
/// </summary>
/// <remarks>
/// Collective: every rank constructs one and calls <see cref="Run"/>. Exceptions propagate after the
/// failure has been recorded (FAILED result, final page); the caller decides whether to abort the job
/// (<see cref="ConvergenceJob"/> does).
/// </remarks>
public sealed class JobRunner
{
    private readonly ICoordinator _coordinator;
    private readonly RunOptions _options;
    private readonly IIterativeSolver _solver;
    private readonly JobLog _log;
    private readonly string _jobName;

    /// <summary>Prepares a job; nothing runs until <see cref="Run"/>.</summary>
    public JobRunner(ICoordinator coordinator, RunOptions options, IIterativeSolver solver, JobLog log)
    {
        _coordinator = coordinator;
        _options = options.Validate();
        _solver = solver;
        _log = log;
        _jobName = options.JobName ?? solver.Name;
    }

    /// <summary>Extra hooks for the loop (checkpoints); applied to the loop before it runs.</summary>
    public Func<ControlLoop, RankZeroServices?, ControlLoop>? ConfigureLoop { get; init; }

    /// <summary>This rank's failure route (shared with the handler for background threads); a private one when unset.</summary>
    internal FailureRoute? Failures { get; init; }

    /// <summary>Runs the job to its end on this rank. Collective.</summary>
    public RunResult Run()
    {
        var isRoot = _coordinator.Rank == 0;
        var failures = Failures ?? new FailureRoute(_coordinator, _log);
        failures.Prepare(_options, _jobName, _solver.Name);
        ServiceHost? host = null;
        try
        {
            var signals = CatchSignals();
            if (isRoot)
            {
                host = ServiceHost.Start(_options, _log, _solver.Name, _solver.Commands, _coordinator.Size, _coordinator.Description);
            }

            // Nobody may fail (and write FAILED) before rank 0 has written the placeholder.
            _coordinator.Barrier();
            failures.Attach(host);
            var services = host?.Services;
            var checkpoints = StartCheckpoints(services);
            var loop = new ControlLoop(_solver, _coordinator, _options, services)
            {
                CheckpointHandler = checkpoints is null ? null : checkpoints.Write,
                RestoreHandler = checkpoints is null ? null : checkpoints.Restore,
                ResumeHandler = checkpoints is not null && _options.Resume ? checkpoints.Resume : null,
                Signals = signals,
                RankLog = isRoot ? null : _log.Write,
                Schedule = isRoot && checkpoints is not null && _options.CheckpointEvery is { } period ? new CheckpointSchedule(period, 0) : null,
                Budget = isRoot && _options.Deadline is { } deadline ? new WallTimeBudget(deadline, _options.DeadlineMargin) : null,
                Failures = failures,
            };
            loop = ConfigureLoop?.Invoke(loop, services) ?? loop;
            var result = loop.Run();
            checkpoints?.WaitForPruning();
            if (host is not null)
            {
                host.Finish(result, checkpoints is null ? _solver.ResultFields : _solver.ResultFields.Concat(checkpoints.ResultFields()));
                if (checkpoints?.Last is { } last)
                {
                    _log.Write($"last checkpoint {CheckpointStore.NameOf(last.Id)} at total iteration {last.TotalIterations}; to resume: {checkpoints.ResumeHint()}");
                }
            }

            return result;
        }
        catch (Exception ex)
        {
            failures.Record($"rank {_coordinator.Rank}: {ex.GetType().Name}: {ex.Message}", ex is OptionsException ? ExitCodes.Usage : ExitCodes.Failed);
            throw;
        }
        finally
        {
            host?.Dispose();
        }
    }

    /// <summary>Every rank: registers the signal handlers (before anything slow, so an early SIGTERM is not lost).</summary>
    private SignalVotes? CatchSignals()
    {
        if (_options.Signals.Entries.Count == 0)
        {
            return null;
        }

        // Kept registered until the process ends, deliberately not disposed: a late signal arriving while a
        // rank finishes cleanly (result, MPI shutdown) must not kill it with the default action.
        var signals = new SignalVotes(_options.Signals, _log.Write);
        _log.Write($"signals: {_options.Signals} on rank {_coordinator.Rank} pid {Environment.ProcessId}");
        return signals;
    }

    /// <summary>Collective: checkpoints for a solver that supports them; the reasons they are off otherwise.</summary>
    private CheckpointManager? StartCheckpoints(RankZeroServices? services)
    {
        if (_solver is not ICheckpointable checkpointable)
        {
            if (_coordinator.Rank == 0 && (_options.Resume || _options.CheckpointEvery is not null))
            {
                _log.Write($"checkpoints: solver {_solver.Name} does not implement ICheckpointable; --resume and --checkpoint-every are ignored, signals and deadlines still stop cleanly");
            }

            return null;
        }

        var manager = new CheckpointManager(
            new CheckpointStore(_options.CheckpointFolder), checkpointable, _coordinator, _jobName, _solver.Name, _options.CheckpointKeep, _log.Write, services?.Live);
        manager.Initialize();
        if (_coordinator.Rank == 0 && _options.Deadline is { } deadline)
        {
            _log.Write(FormattableString.Invariant(
                $"deadline: {deadline.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ} (in {(deadline - DateTimeOffset.UtcNow).TotalSeconds:0} s), margin {_options.DeadlineMargin.TotalSeconds:0.###} s: the job stops with a checkpoint before it"));
        }

        return manager;
    }
}
