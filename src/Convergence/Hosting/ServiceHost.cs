using Convergence.Commands;
using Convergence.Control;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Status;

namespace Convergence.Hosting;

/// <summary>
/// Rank 0's services for one job, started and stopped as a unit: the placeholder result, the notifications
/// watcher (<see cref="CommandIntake"/>), the <see cref="CommandJournal"/>, the <see cref="LiveStatus"/>
/// hand-over and its <see cref="StatusReporter"/> thread, and the final result and log lines.
/// </summary>
/// <remarks>
/// <para>
/// For loops the framework does not own (a MathNet.Numerics solver, a job with its own time stepping):
/// start a host, look at <see cref="Intake"/> at the loop's boundaries, record progress in
/// <see cref="Live"/>, and end with <see cref="Finish"/> or <see cref="Fail"/>. The files and log lines are
/// the same as for a <see cref="ControlLoop"/> job, so the portal and the user see no difference.
/// </para>
/// <para>
/// Create, finish and dispose on one thread; the watcher and reporter run on their own background threads
/// and never call MPI. Only rank 0 (or the single process) creates a host.
/// </para>
/// <para>
/// The job ends once: <see cref="Finish"/> and <see cref="Fail"/> may race (a failure on a background
/// thread, or one handed over by another rank, against the main thread's end) and the first wins; the
/// other returns without writing. After a failure the reporter has stopped, so no later "running" page
/// can replace the FAILED one.
/// </para>
/// </remarks>
public sealed class ServiceHost : IDisposable
{
    private readonly RunOptions _options;
    private readonly JobLog _log;
    private readonly int _ranks;
    private readonly StatusReporter? _reporter;
    private readonly object _endGate = new();
    private readonly int _ownerThread = Environment.CurrentManagedThreadId;
    private PeerFailureWatcher? _peerFailures;
    private bool _ended;
    private RankHosts? _hosts;
    private bool _failed;

    private ServiceHost(RunOptions options, JobLog log, string jobName, int ranks, CommandIntake? intake, CommandJournal journal, LiveStatus live, StatusReporter? reporter)
    {
        _options = options;
        _log = log;
        JobName = jobName;
        _ranks = ranks;
        Intake = intake;
        Journal = journal;
        Live = live;
        _reporter = reporter;
        Schedule.Changed = schedule => live.Scheduled = schedule.List;
    }

    /// <summary>The name on the status page and in the result.</summary>
    public string JobName { get; }

    /// <summary>The watcher's queue of accepted commands; look at <see cref="CommandIntake.IsEmpty"/> first (cheap).</summary>
    public CommandIntake? Intake { get; }

    /// <summary>Where applied, declined and rejected commands are recorded.</summary>
    public CommandJournal Journal { get; }

    /// <summary>The status hand-over; record progress here at boundaries.</summary>
    public LiveStatus Live { get; }

    /// <summary>Where the watcher stopped reading the notifications file, taken by <see cref="Finish"/>; null before, or when no file was open.</summary>
    public NotificationPosition? FinalNotificationPosition { get; private set; }

    /// <summary>The same services as the <see cref="ControlLoop"/> takes them.</summary>
    public RankZeroServices Services => new(Intake, Journal, Live) { Schedule = Schedule };

    /// <summary>Scheduled commands (<c>STOP at=5000</c>); the control loop fires them, the page lists them.</summary>
    internal CommandSchedule Schedule { get; } = new();

    /// <summary>
    /// Writes the placeholder result, logs the start lines, and starts the watcher and the reporter.
    /// </summary>
    /// <param name="options">The run's options (service folder, intervals).</param>
    /// <param name="log">The job log.</param>
    /// <param name="solverName">The solver's name; also the job name unless <see cref="RunOptions.JobName"/> is set.</param>
    /// <param name="customCommands">Commands the solver adds to the protocol (parsed and shown on the page).</param>
    /// <param name="ranks">The number of ranks the job runs on.</param>
    /// <param name="description">How the job runs, for the start line (e.g. "single process").</param>
    /// <param name="continueAt">Where the previous link of a chained job stopped reading the notifications file; null for a job of its own.</param>
    /// <exception cref="ArgumentException">A custom command is invalid (clashes with a built-in one, twice in the list); nothing is left open.</exception>
    public static ServiceHost Start(RunOptions options, JobLog log, string solverName, IReadOnlyList<CustomCommand>? customCommands = null, int ranks = 1, string description = "single process", NotificationPosition? continueAt = null) =>
        Start(options, log, solverName, customCommands, ranks, description, continueAt, []);

    /// <summary>As <see cref="Start(RunOptions, JobLog, string, IReadOnlyList{CustomCommand}?, int, string, NotificationPosition?)"/>, with the commands a chain's previous link carried over (applied first).</summary>
    internal static ServiceHost Start(RunOptions options, JobLog log, string solverName, IReadOnlyList<CustomCommand>? customCommands, int ranks, string description, NotificationPosition? continueAt, IReadOnlyList<string> carried)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var commands = customCommands ?? [];
        var jobName = options.JobName ?? solverName;

        // The parser first: a bad custom command list throws before a file is opened or a thread started.
        var parser = new CommandParser(commands, options.MaxLineBytes);
        Directory.CreateDirectory(options.ServiceDirectory);
        ResultFile.Write(options.ResultFile, ResultFile.FormatPlaceholder(jobName, ranks));

        // The tail takes its starting offset before the start line is logged: a message sent after a user
        // (or a test) has seen "start" is this run's, never skipped as an earlier run's.
        var tail = new NotificationTail(options.NotificationsFile, options.MaxLineBytes, options.ReplayExistingNotifications, continueAt);
        CommandIntake? intake = null;
        StatusReporter? reporter = null;
        ServiceHost? host = null;
        try
        {
            log.Write($"start job={jobName} solver={solverName} ranks={ranks} ({description}) {options.Describe()}");
            log.Write($"files notifications={options.NotificationsFile} status={options.StatusFile} result={options.ResultFile}");

            // Acknowledgements never drop out of the log; rejections are rate-limited by the journal itself.
            var journal = new CommandJournal(log.WriteAlways);
            intake = new CommandIntake(tail, parser, journal, options.PollInterval, options.UseChangeNotifications, log.Write, carried);
            var live = new LiveStatus(jobName, solverName, ranks, options.Tolerance, commands, journal);
            reporter = new StatusReporter(live, options.StatusFile, options.StatusInterval, options.ProgressInterval, log.Write);
            host = new ServiceHost(options, log, jobName, ranks, intake, journal, live, reporter);
            if (ranks > 1)
            {
                // Before any other rank may fail (they wait for rank 0 at a barrier): an earlier run's
                // reports must not be taken for this one's.
                var reports = new PeerFailureReports(options.ServiceDirectory);
                try
                {
                    reports.Clear();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    log.Write($"cannot clear {reports.Folder} from an earlier run: {ex.Message}; remove it, or a failure on another rank may not be recorded by rank 0");
                }

                host._peerFailures = new PeerFailureWatcher(reports, options.PollInterval, host.RecordPeerFailure, log.Write);
            }

            return host;
        }
        catch
        {
            // Nothing started here outlives a failed start: the host stops what it owns, or, before it
            // exists, the reporter and the intake (which owns the tail) stop, or the tail closes its file.
            if (host is not null)
            {
                host.Dispose();
            }
            else
            {
                reporter?.Dispose();
                if (intake is not null)
                {
                    intake.Dispose();
                }
                else
                {
                    tail.Dispose();
                }
            }

            throw;
        }
    }

    /// <summary>
    /// Ends the job: records commands that arrived too late as declined, writes the final status page and
    /// the result file (with <paramref name="extraResultFields"/> after the standard ones), and logs the end line.
    /// </summary>
    /// <param name="result">How the run ended.</param>
    /// <param name="extraResultFields">Fields after the standard ones (solver's, checkpoints', chain's).</param>
    /// <param name="pageState">The state the final page shows, when not the outcome's (a chained job waiting for its next allocation).</param>
    /// <param name="pageMessage">The final page's message, when not the result's.</param>
    public void Finish(RunResult result, IEnumerable<(string Key, string Value)>? extraResultFields = null, JobState? pageState = null, string? pageMessage = null)
    {
        lock (_endGate)
        {
            if (_failed)
            {
                // A failure (a background thread, another rank) was recorded first and the job is going down.
                return;
            }

            ObjectDisposedException.ThrowIf(_ended, this);
            _ended = true;
            FinishLocked(result, extraResultFields, pageState, pageMessage);
        }
    }

    /// <summary>
    /// Records a failure: final page in the Failed state and a FAILED result naming <paramref name="error"/>.
    /// Never throws for I/O trouble (it is already handling one failure); logs it instead. May be called from
    /// any thread; only the first of <see cref="Finish"/> and <see cref="Fail"/> writes.
    /// </summary>
    /// <param name="error">What went wrong, one line.</param>
    /// <param name="exitCode">The exit code the result names (<see cref="ExitCodes.Usage"/> for a refused option).</param>
    public void Fail(string error, int exitCode = ExitCodes.Failed) => FailAs(error, exitCode, 0);

    /// <summary>Rank 0: records a failure seen by <paramref name="failedRank"/>; false if the job had already ended.</summary>
    internal bool FailAs(string error, int exitCode, int failedRank)
    {
        lock (_endGate)
        {
            if (_ended)
            {
                return false;
            }

            _ended = true;
            _failed = true;
            FailLocked(error, exitCode, failedRank);
            return true;
        }
    }

    private bool RecordPeerFailure(int rank, string error, IReadOnlyList<(int Rank, string Error)> reports) =>
        FailAs(error, ExitCodes.Failed, rank);

    // The end line's rate counts the iterations of this job only: a resumed job's elapsed time does not cover
    // the iterations before its checkpoint.
    private void FinishLocked(RunResult result, IEnumerable<(string Key, string Value)>? extraResultFields, JobState? pageState, string? pageMessage)
    {
        _peerFailures?.Dispose();
        DrainLateCommands();
        // Taken before the result is written: a message sent once the result (or the page) is out must
        // count as sent after it.
        FinalNotificationPosition = Intake is null ? null : Intake.Position ?? NotificationPosition.NoFile(_options.NotificationsFile, DateTimeOffset.UtcNow);
        Live.Finish(pageState ?? StateOf(result.Outcome), result.Iteration, result.TotalIterations, result.Residual, result.Tolerance, pageMessage ?? result.Message);
        _reporter?.StopAndWriteFinal();
        try
        {
            // The record of changes last: a finished run says how it was steered after what it computed.
            var fields = (extraResultFields ?? []).Concat(Live.Changes.ResultFields());
            ResultFile.Write(_options.ResultFile, ResultFile.FormatResult(JobName, _ranks, result, fields));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The job's end is not undone by a disk that refuses the result: the end line and the exit code
            // still say how it ended, and stderr says why result.txt does not.
            ReportUnwrittenResult(ex);
        }

        Intake?.Dispose();
        _log.WriteAlways(FormattableString.Invariant(
            $"end outcome={ResultFile.Word(result.Outcome)} iteration={result.Iteration} total={result.TotalIterations} residual={result.Residual:G6} tolerance={result.Tolerance:G6} restarts={result.Restarts} elapsed={result.Elapsed.TotalSeconds:0.###}s it/s={((result.TotalIterations - result.StartTotalIterations) / Math.Max(result.Elapsed.TotalSeconds, 1e-9)):0} commands applied={Journal.AppliedCount} rejected={Journal.RejectedCount} exit={result.ExitCode}"));
        _log.Write($"result written to {_options.ResultFile}: {result.Message}");
    }

    /// <summary>
    /// Set before <see cref="Finish"/> by a chained job's link whose chain continues: commands received but not
    /// yet applied when the loop ended are kept for the next link (<see cref="CarriedCommands"/>) instead of
    /// declined.
    /// </summary>
    internal bool CarryLateCommands { get; set; }

    /// <summary>After <see cref="Finish"/> with <see cref="CarryLateCommands"/>: the texts of the commands the next link takes in.</summary>
    internal IReadOnlyList<string> CarriedCommands { get; private set; } = [];

    /// <summary>Rank 0, once at start: the hosts of every rank, for the log, the page and a failure's result.</summary>
    internal void UseHosts(RankHosts hosts)
    {
        _hosts = hosts;
        _log.Write(hosts.Describe());
        Live.Nodes = hosts.Nodes().Select(n => new NodeRanks(n.Host, n.Ranks)).ToList();
    }

    private void ReportUnwrittenResult(Exception ex)
    {
        var line = $"could not write the result to {_options.ResultFile}: {ex.Message}";
        _log.WriteAlways(line);
        Console.Error.WriteLine($"convergence: error: {line}");
    }

    private void FailLocked(string error, int exitCode, int failedRank)
    {
        _peerFailures?.Dispose();

        // The watcher's own thread may be the one that failed (or be busy); only the owner's thread stops
        // and drains it. From elsewhere it keeps running until the abort: the page no longer changes.
        var onOwnerThread = Environment.CurrentManagedThreadId == _ownerThread;
        try
        {
            if (onOwnerThread)
            {
                Intake?.StopAndDrain();
            }

            // The page keeps where the job got to: the last iteration and residual recorded before the failure.
            var last = Live.Snapshot(0);
            Live.Finish(JobState.Failed, last.Iteration, last.TotalIterations, double.NaN, last.Tolerance, error);
            _reporter?.StopAndWriteFinal();
            ResultFile.Write(_options.ResultFile, ResultFile.FormatFailure(JobName, failedRank, _ranks, error, exitCode, _hosts?.HostOf(failedRank)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReportUnwrittenResult(ex);
        }

        if (onOwnerThread)
        {
            Intake?.Dispose();
        }

        _log.WriteAlways($"end outcome=FAILED {error}");
    }

    /// <summary>Stops the background threads; a host neither finished nor failed records a failure first.</summary>
    public void Dispose()
    {
        Fail("the job ended without a result (the host was disposed early)");
        _peerFailures?.Dispose();
        _reporter?.Dispose();
        Intake?.Dispose();
    }

    /// <summary>The status page state for a run's outcome.</summary>
    public static JobState StateOf(RunOutcome outcome) => outcome switch
    {
        RunOutcome.Converged => JobState.Converged,
        RunOutcome.Stopped => JobState.Stopped,
        RunOutcome.Aborted => JobState.Aborted,
        RunOutcome.IterationLimit => JobState.IterationLimit,
        RunOutcome.Diverged => JobState.Diverged,
        RunOutcome.Stagnated => JobState.Stagnated,
        _ => JobState.Failed,
    };

    private void DrainLateCommands()
    {
        if (Intake is null)
        {
            return;
        }

        Intake.StopAndDrain();
        var carried = new List<string>();
        while (Intake.TryDequeue(out var late))
        {
            if (CarryLateCommands)
            {
                carried.Add(Journal.CarriedOver(late.Sequence, "received while this link ended; the next link applies it"));
            }
            else
            {
                Journal.Declined(late.Sequence, "the job ended before this command could be applied");
            }
        }

        CarriedCommands = carried;
    }
}
