using Convergence.Checkpoints;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.FileSystem;
using Convergence.Intake;
using Convergence.Options;
using Convergence.Output;
using Convergence.Signals;
using Convergence.Solver;
using Convergence.Status;

namespace Convergence.Hosting;

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
    /// <summary>Beside the checkpoints: commands a chained link received while it ended, for the next link (one per line).</summary>
    internal const string CarriedFileName = "notifications-carried.txt";

    private readonly ICoordinator _coordinator;
    private RunOptions _options;
    private readonly IIterativeSolver _solver;
    private readonly JobLog _log;
    private readonly string _jobName;

    /// <summary>Prepares a job; nothing runs until <see cref="Run"/>.</summary>
    public JobRunner(ICoordinator coordinator, RunOptions options, IIterativeSolver solver, JobLog log)
    {
        _coordinator = coordinator;
        _options = options;
        _solver = solver;
        _log = log;
        _jobName = options.JobName ?? solver.Name;
    }

    /// <summary>This rank's failure route (shared with the handler for background threads); a private one when unset.</summary>
    internal FailureRoute? Failures { get; init; }

    /// <summary>Runs the job to its end on this rank. Collective.</summary>
    /// <exception cref="OptionsException">
    /// On every rank alike: <c>--resume</c> with checkpoints of which none fits this job. Decided before rank 0
    /// writes anything, so the previous run's result and page stay as they were.
    /// </exception>
    public RunResult Run()
    {
        var isRoot = _coordinator.Rank == 0;
        RefuseResumeThatCannotFit();
        var failures = Failures ?? new FailureRoute(_coordinator, _log);
        failures.Prepare(_options, _jobName, _solver.Name);
        ServiceHost? host = null;
        SlurmDeadlineWatch? slurmWatch = null;
        StallWatch? stalls = null;
        try
        {
            var signals = CatchSignals();
            _options = AskSlurmForDeadline(_options);
            var hosts = RankHosts.Gather(_coordinator);
            if (isRoot)
            {
                // Beside the checkpoints (a solver with none cannot resume): the schedule and the record of changes.
                var steering = _solver is ICheckpointable ? new SteeringFiles(_options.CheckpointFolder, _log.Write) : null;
                var record = new Journal.ChangeRecord();
                var scheduled = steering?.Start(_options.Resume, record) ?? [];
                host = ServiceHost.Start(_options, _log, _solver.Name, _solver.Commands, _coordinator.Size, _coordinator.Description, ContinueReadingAt(), [.. scheduled, .. CarriedFromPreviousLink()]);
                host.Live.Changes.Load(record.ToJson());
                steering?.Follow(host.Schedule, host.Live.Changes);
                host.UseHosts(hosts);
                LogChainStart();
                ClearStallReports();
            }

            // Nobody may fail (and write FAILED) before rank 0 has written the placeholder.
            _coordinator.Barrier();
            failures.Attach(host);
            var activity = new RankActivity();
            (_coordinator as IWaitTracking)?.TrackWaits(activity);
            stalls = StartStallWatch(host, hosts, activity);
            var services = host?.Services;
            var checkpoints = StartCheckpoints(services, hosts);
            var budget = isRoot && _options.Deadline is { } deadline ? new WallTimeBudget(deadline, _options.DeadlineMargin) : null;
            if (budget is not null && _options is { DeadlineFromScheduler: true, SlurmJobId: { } jobId, SlurmEndTimeEvery: { } every })
            {
                slurmWatch = new SlurmDeadlineWatch(budget, jobId, every, _log.Write);
            }

            var schedule = isRoot && checkpoints is not null && _options.CheckpointEvery is { } period ? new CheckpointSchedule(period, 0) : null;
            var events = new RunEvents(signals, failures, schedule, budget);
            var loop = new ControlLoop(_solver, _coordinator, _options, services, events, checkpoints, isRoot ? null : _log.Write, activity);
            var result = loop.Run();
            checkpoints?.WaitForPruning();
            slurmWatch?.Dispose();
            slurmWatch = null;
            if (host is not null)
            {
                var fields = checkpoints is null ? _solver.ResultFields : _solver.ResultFields.Concat(checkpoints.ResultFields());
                var chain = ChainStep.Decide(_options, result, checkpoints?.Last?.TotalIterations, result.StartTotalIterations);
                if (chain is null)
                {
                    host.Finish(result, fields);
                }
                else
                {
                    host.CarryLateCommands = chain.Continues;
                    host.Finish(result, fields.Concat(chain.ResultFields()), chain.Continues ? JobState.WaitingForAllocation : null, chain.Continues ? $"{result.Message} — {chain.PageMessage}" : null);
                    _log.Write(chain.LogLine);
                    if (chain.Continues)
                    {
                        RecordReadingPosition(host.FinalNotificationPosition);
                        RecordCarriedCommands(host.CarriedCommands);
                    }
                }

                if (checkpoints?.Last is { } last)
                {
                    _log.Write($"last checkpoint {CheckpointStore.NameOf(last.Id)} at total iteration {last.TotalIterations}; to resume: {checkpoints.ResumeHint()}");
                }
            }

            return result;
        }
        catch (OptionsException) when (!isRoot)
        {
            // Raised by every rank alike from agreed data (--resume finding nothing that fits while loading):
            // rank 0 records it. Handed over from here it would outlive rank 0, which ends without waiting,
            // and overwrite rank 0's result with one that blames this rank.
            throw;
        }
        catch (Exception ex)
        {
            failures.Record($"rank {_coordinator.Rank}: {ex.GetType().Name}: {ex.Message}", ex is OptionsException ? ExitCodes.Usage : ExitCodes.Failed);
            throw;
        }
        finally
        {
            stalls?.Dispose();
            slurmWatch?.Dispose();
            host?.Dispose();
        }
    }

    /// <summary>Rank 0, before the other ranks may write: an earlier run's stall reports must not count for this one.</summary>
    private void ClearStallReports()
    {
        if (_coordinator.Size == 1)
        {
            return;
        }

        try
        {
            StallWatch.Clear(_options.ServiceDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Write($"cannot clear {Path.Combine(_options.ServiceDirectory, StallWatch.FolderName)} from an earlier run: {ex.Message}; remove it, or the stall watchdog may name a rank wrongly");
        }
    }

    /// <summary>Every rank of a job with more than one: the stall watchdog's thread (<see cref="StallWatch"/>).</summary>
    private StallWatch? StartStallWatch(ServiceHost? host, RankHosts hosts, RankActivity activity)
    {
        if (_coordinator.Size == 1)
        {
            return null;
        }

        var rankZero = host is null
            ? null
            : new StallWatch.RankZeroPart(
                _options.StallNotice,
                _options.StallTimeout,
                host.Live,
                (rank, message) => host.FailAs(message, ExitCodes.Failed, rank),
                () => _coordinator.Abort(ExitCodes.Failed),
                _log.Write);
        return StallWatch.Start(_options.ServiceDirectory, _coordinator.Rank, hosts.Own, activity, rankZero);
    }

    /// <summary>Collective: <c>--resume</c> with nothing that fits is refused on every rank before anything is written (<see cref="ResumeCheck"/>).</summary>
    private void RefuseResumeThatCannotFit()
    {
        if (_options.Resume && _solver is ICheckpointable checkpointable)
        {
            ResumeCheck.RefuseIfNothingFits(new CheckpointStore(_options.CheckpointFolder), CheckpointManager.KeyOf(checkpointable, _solver.Name), checkpointable is IDistributedCheckpointable, _coordinator, _log.Write, _options.ResumeFrom);
        }
    }

    /// <summary>
    /// Collective. Inside a Slurm job with no deadline known (no <c>--deadline</c>, no
    /// <c>SLURM_JOB_END_TIME</c>, which Slurm before 23.02 does not set), rank 0 asks <c>squeue</c> for the
    /// job's end time once, before the first iteration, and every rank takes rank 0's answer from one
    /// reduction: the ranks never disagree about the deadline, and only one process asks slurmctld.
    /// </summary>
    private RunOptions AskSlurmForDeadline(RunOptions options)
    {
        if (options.Deadline is not null || options.SlurmJobId is not { } jobId || options.SlurmEndTimeEvery is null)
        {
            return options;
        }

        var unixSeconds = 0.0;
        if (_coordinator.Rank == 0)
        {
            var end = SlurmEndTime.Query(jobId, TimeSpan.FromSeconds(10), out var problem);
            if (end is { } value)
            {
                unixSeconds = value.ToUnixTimeSeconds();
                _log.Write(FormattableString.Invariant(
                    $"deadline: Slurm job {jobId} ends at {value.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} (in {(value - DateTimeOffset.UtcNow).TotalSeconds:0} s; asked squeue, SLURM_JOB_END_TIME is not set); asking again every {options.SlurmEndTimeEvery.Value.TotalSeconds:0} s or sooner near the end, for time extensions"));
            }
            else
            {
                _log.Write($"deadline: none: Slurm job {jobId}'s end time is unknown ({problem}); the job stops only on signals (scancel, the time limit's SIGTERM) — give --deadline to stop with a checkpoint before the limit");
            }
        }

        var agreed = _coordinator.AllreduceSum(unixSeconds);
        return agreed > 0
            ? options with { Deadline = DateTimeOffset.FromUnixTimeSeconds((long)agreed), DeadlineFromScheduler = true }
            : options;
    }

    /// <summary>Rank 0, a chained job's later link: where the previous link stopped reading the notifications file.</summary>
    private NotificationPosition? ContinueReadingAt()
    {
        if (_options.ChainLink <= 1 || !_options.Resume)
        {
            return null;
        }

        var path = Path.Combine(_options.CheckpointFolder, NotificationPosition.FileName);
        try
        {
            if (!File.Exists(path))
            {
                _log.Write($"chain: no {path} from the previous link; messages in the notifications file now are skipped as usual");
                return null;
            }

            var position = NotificationPosition.Parse(File.ReadAllText(path), out var problem);
            if (position is null)
            {
                _log.Write($"chain: {path} is unusable ({problem}); messages in the notifications file now are skipped as usual");
            }

            return position;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Write($"chain: cannot read {path} ({ex.Message}); messages in the notifications file now are skipped as usual");
            return null;
        }
    }

    /// <summary>
    /// Rank 0, a chained job's later link: the commands the previous link received while it ended and could
    /// not apply (its final checkpoint, say), which this link applies first. Read without following a link.
    /// </summary>
    private string[] CarriedFromPreviousLink()
    {
        if (_options.ChainLink <= 1 || !_options.Resume)
        {
            return [];
        }

        try
        {
            using var folder = FolderHandle.TryOpen(_options.CheckpointFolder, followLink: true);
            if (folder is null || folder.KindOf(CarriedFileName) == EntryKind.None)
            {
                return [];
            }

            var lines = folder.ReadAllText(CarriedFileName).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (lines.Length > 0)
            {
                _log.Write(FormattableString.Invariant($"chain: {lines.Length} command(s) carried over from the previous link, applied first"));
            }

            return lines;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Write($"chain: cannot read the commands carried over in {Path.Combine(_options.CheckpointFolder, CarriedFileName)} ({ex.Message}); send them again");
            return [];
        }
    }

    /// <summary>Rank 0, a link whose chain continues: the commands it could not apply, for the next link (an empty file when none).</summary>
    private void RecordCarriedCommands(IReadOnlyList<string> carried)
    {
        var path = Path.Combine(_options.CheckpointFolder, CarriedFileName);
        try
        {
            AtomicFile.WriteAllText(path, string.Concat(carried.Select(c => c + "\n")), durable: true);
            if (carried.Count > 0)
            {
                _log.Write(FormattableString.Invariant($"chain: {carried.Count} command(s) received while this link ended are kept in {path} for the next link"));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Write($"chain: cannot keep the {carried.Count} command(s) received while this link ended in {path} ({ex.Message}); send them again");
        }
    }

    /// <summary>Rank 0, a link whose chain continues: records where reading stopped, beside the checkpoints, for the next link.</summary>
    private void RecordReadingPosition(NotificationPosition? position)
    {
        var path = Path.Combine(_options.CheckpointFolder, NotificationPosition.FileName);
        position ??= NotificationPosition.NoFile(_options.NotificationsFile, DateTimeOffset.UtcNow);
        try
        {
            Directory.CreateDirectory(_options.CheckpointFolder);
            AtomicFile.WriteAllText(path, position.Format(), durable: true);
            _log.Write(FormattableString.Invariant($"chain: stopped reading {position.Path} at byte {position.Offset}; recorded in {path} for the next link"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Write($"chain: cannot record the notifications position in {path} ({ex.Message}); the next link will skip messages sent meanwhile");
        }
    }

    private void LogChainStart()
    {
        if (_options.ChainLink == 0)
        {
            return;
        }

        var job = _options.SlurmJobId ?? "?";
        var next = _options.ChainNextJob is { } id
            ? $"next link queued as job {id} (runs only if this one stops at its deadline); cancel the whole chain: scancel {job} {id}"
            : "no next link queued (this is the last one allowed)";
        _log.Write(FormattableString.Invariant($"chain: link {_options.ChainLink} of at most {_options.ChainMax} (Slurm job {job}); {next}"));
    }

    /// <summary>Every rank: registers the signal handlers (before anything slow, so an early SIGTERM is not lost).</summary>
    private SignalVotes? CatchSignals()
    {
        if (_options.Signals.Entries.Count == 0)
        {
            return null;
        }

        // Owned by the process, not this run: a late signal while a rank finishes cleanly must not kill it.
        var signals = SignalVotes.CatchForProcess(_options.Signals, _log.Write);
        _log.Write($"signals: {_options.Signals} on rank {_coordinator.Rank} pid {Environment.ProcessId} host {RankHosts.ThisHost}");
        return signals;
    }

    /// <summary>The shared level of two-level checkpoints, or null when it is the checkpoint folder itself (one level).</summary>
    private CheckpointStore? SharedLevel()
    {
        var local = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.CheckpointFolder));
        var shared = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.CheckpointSharedFolder));
        return string.Equals(local, shared, StringComparison.Ordinal) ? null : new CheckpointStore(shared);
    }

    /// <summary>Collective: checkpoints for a solver that supports them; the reasons they are off otherwise.</summary>
    private CheckpointManager? StartCheckpoints(RankZeroServices? services, RankHosts hosts)
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
            new CheckpointStore(_options.CheckpointFolder), checkpointable, _coordinator, _jobName, _solver.Name, _options.CheckpointKeep, _log.Write, services?.Live)
        {
            ToleranceGivenBy = _options.GivenBy("--tolerance"),
            ContinuesChain = _options.ChainLink > 1,
            ResumeFrom = _options.ResumeFrom,
            SharedStore = SharedLevel(),
            Hosts = hosts.Hosts,
        };
        manager.Initialize();
        if (_coordinator.Rank == 0 && _options.Deadline is { } deadline)
        {
            _log.Write(FormattableString.Invariant(
                $"deadline: {deadline.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ} (in {(deadline - DateTimeOffset.UtcNow).TotalSeconds:0} s), margin {_options.DeadlineMargin.TotalSeconds:0.###} s: the job stops with a checkpoint before it"));
        }

        return manager;
    }
}
