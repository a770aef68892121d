using Convergence.Commands;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Output;
using Convergence.Status;

namespace Convergence.Control;

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
/// </remarks>
public sealed class ServiceHost : IDisposable
{
    private readonly RunOptions _options;
    private readonly JobLog _log;
    private readonly int _ranks;
    private readonly StatusReporter? _reporter;
    private bool _ended;

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
    }

    /// <summary>The name on the status page and in the result.</summary>
    public string JobName { get; }

    /// <summary>The watcher's queue of accepted commands; look at <see cref="CommandIntake.IsEmpty"/> first (cheap).</summary>
    public CommandIntake? Intake { get; }

    /// <summary>Where applied, declined and rejected commands are recorded.</summary>
    public CommandJournal Journal { get; }

    /// <summary>The status hand-over; record progress here at boundaries.</summary>
    public LiveStatus Live { get; }

    /// <summary>The same services as the <see cref="ControlLoop"/> takes them.</summary>
    public RankZeroServices Services => new(Intake, Journal, Live);

    /// <summary>
    /// Writes the placeholder result, logs the start lines, and starts the watcher and the reporter.
    /// </summary>
    /// <param name="options">The run's validated options (service folder, intervals).</param>
    /// <param name="log">The job log.</param>
    /// <param name="solverName">The solver's name; also the job name unless <see cref="RunOptions.JobName"/> is set.</param>
    /// <param name="customCommands">Commands the solver adds to the protocol (parsed and shown on the page).</param>
    /// <param name="ranks">The number of ranks the job runs on.</param>
    /// <param name="description">How the job runs, for the start line (e.g. "single process").</param>
    /// <exception cref="OptionsException">The options are invalid.</exception>
    public static ServiceHost Start(RunOptions options, JobLog log, string solverName, IReadOnlyList<CustomCommand>? customCommands = null, int ranks = 1, string description = "single process")
    {
        options.Validate();
        var commands = customCommands ?? [];
        var jobName = options.JobName ?? solverName;
        Directory.CreateDirectory(options.ServiceDirectory);
        ResultFile.Write(options.ResultFile, ResultFile.FormatPlaceholder(jobName, ranks));

        // The tail takes its starting offset before the start line is logged: a message sent after a user
        // (or a test) has seen "start" is this run's, never skipped as an earlier run's.
        var tail = new NotificationTail(options.NotificationsFile, options.MaxLineBytes, options.ReplayExistingNotifications);
        log.Write($"start job={jobName} solver={solverName} ranks={ranks} ({description}) {options.Describe()}");
        log.Write($"files notifications={options.NotificationsFile} status={options.StatusFile} result={options.ResultFile}");

        var journal = new CommandJournal(log.Write);

        // The parser is built before any thread starts: a bad custom command list throws here, cleanly.
        var parser = new CommandParser(commands, options.MaxLineBytes);
        var intake = new CommandIntake(tail, parser, journal, options.PollInterval, options.UseChangeNotifications, log.Write);
        var live = new LiveStatus(jobName, solverName, ranks, options.Tolerance, commands, journal);
        var reporter = new StatusReporter(live, options.StatusFile, options.StatusInterval, options.ProgressInterval, log.Write);
        return new ServiceHost(options, log, jobName, ranks, intake, journal, live, reporter);
    }

    /// <summary>
    /// Ends the job: records commands that arrived too late as declined, writes the final status page and
    /// the result file (with <paramref name="extraResultFields"/> after the standard ones), and logs the end line.
    /// </summary>
    public void Finish(RunResult result, IEnumerable<(string Key, string Value)>? extraResultFields = null)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        _ended = true;
        DrainLateCommands();
        Live.Finish(StateOf(result.Outcome), result.Iteration, result.TotalIterations, result.Residual, result.Tolerance, result.Message);
        _reporter?.StopAndWriteFinal();
        ResultFile.Write(_options.ResultFile, ResultFile.FormatResult(JobName, _ranks, result, extraResultFields));
        Intake?.Dispose();
        _log.Write(FormattableString.Invariant(
            $"end outcome={ResultFile.Word(result.Outcome)} iteration={result.Iteration} total={result.TotalIterations} residual={result.Residual:G6} tolerance={result.Tolerance:G6} restarts={result.Restarts} elapsed={result.Elapsed.TotalSeconds:0.###}s it/s={(result.TotalIterations / Math.Max(result.Elapsed.TotalSeconds, 1e-9)):0} commands applied={Journal.AppliedCount} rejected={Journal.RejectedCount} exit={result.ExitCode}"));
        _log.Write($"result written to {_options.ResultFile}: {result.Message}");
    }

    /// <summary>
    /// Records a failure: final page in the Failed state and a FAILED result naming <paramref name="error"/>.
    /// Never throws for I/O trouble (it is already handling one failure); logs it instead.
    /// </summary>
    /// <param name="error">What went wrong, one line.</param>
    /// <param name="exitCode">The exit code the result names (<see cref="ExitCodes.Usage"/> for a refused option).</param>
    public void Fail(string error, int exitCode = ExitCodes.Failed)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        try
        {
            Intake?.StopAndDrain();
            Live.Finish(JobState.Failed, 0, Live.TotalIterations, double.NaN, _options.Tolerance, error);
            _reporter?.StopAndWriteFinal();
            ResultFile.Write(_options.ResultFile, ResultFile.FormatFailure(JobName, 0, _ranks, error, exitCode));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Write($"could not write the FAILED result to {_options.ResultFile}: {ex.Message}");
        }

        Intake?.Dispose();
        _log.Write($"end outcome=FAILED {error}");
    }

    /// <summary>Stops the background threads; a host neither finished nor failed records a failure first.</summary>
    public void Dispose()
    {
        if (!_ended)
        {
            Fail("the job ended without a result (the host was disposed early)");
        }

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
        while (Intake.TryDequeue(out var late))
        {
            Journal.Declined(late.Sequence, "the job ended before this command could be applied");
        }
    }
}
