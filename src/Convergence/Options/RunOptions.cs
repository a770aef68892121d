using System.Globalization;
using Convergence.Checkpoints;
using Convergence.Criteria;
using Convergence.Signals;
using Convergence.Solver;

namespace Convergence.Options;

/// <summary>
/// The settings of one run: a frozen snapshot, validated once before the first collective and identical
/// on every rank. Build one with <see cref="Parse"/> (command line, then environment, then defaults) or
/// with a <c>with</c> expression, then call <see cref="Validate"/>.
/// </summary>
public sealed record RunOptions
{
    /// <summary>The service folder used inside the SemWES container.</summary>
    public const string DefaultServiceDirectory = "/service";

    /// <summary>Folder holding <c>notifications.txt</c>, <c>status.html</c> and <c>result.txt</c>.</summary>
    public string ServiceDirectory { get; init; } = DefaultServiceDirectory;

    /// <summary>Name shown on the status page and in the result; the solver's name when unset.</summary>
    public string? JobName { get; init; }

    /// <summary>Converged when the global residual is below this.</summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary>Stop with <see cref="RunOutcome.IterationLimit"/> after this many iterations since the last (re)start.</summary>
    public long MaxIterations { get; init; } = 100_000_000;

    /// <summary>When ranks exchange control data.</summary>
    public SyncPolicy Sync { get; init; } = SyncPolicy.Default;

    /// <summary>How often rank 0's background thread looks at the notifications file.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Also wake the watcher on file-system change events (polling runs regardless).</summary>
    public bool UseChangeNotifications { get; init; } = true;

    /// <summary>Apply messages already in the notifications file at start (by default they are skipped).</summary>
    public bool ReplayExistingNotifications { get; init; }

    /// <summary>Longest accepted message line in bytes; longer lines are skipped without being buffered.</summary>
    public int MaxLineBytes { get; init; } = 4096;

    /// <summary>How often the status page is rewritten while the job runs.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a progress line goes to the log.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where checkpoints go; <c>&lt;service&gt;/checkpoints</c> when unset (see docs/checkpoints.md: use /scratch in production).</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Periodic checkpoints (every N iterations or every T of wall time); none when null.</summary>
    public CheckpointPeriod? CheckpointEvery { get; init; }

    /// <summary>How many complete checkpoints are kept; older ones are removed after each new one.</summary>
    public int CheckpointKeep { get; init; } = 3;

    /// <summary>Continue from the newest complete checkpoint in <see cref="CheckpointFolder"/> (start fresh when there is none).</summary>
    public bool Resume { get; init; }

    /// <summary>Which POSIX signals are caught and what they ask for.</summary>
    public SignalMap Signals { get; init; } = SignalMap.Default;

    /// <summary>The allocation's end: the job stops with a checkpoint early enough to finish before it; none when null.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Time kept in reserve before <see cref="Deadline"/> after the last checkpoint (result, page, MPI shutdown).</summary>
    public TimeSpan DeadlineMargin { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>True when <see cref="Deadline"/> is the scheduler's end time (<c>SLURM_JOB_END_TIME</c> or asked of Slurm), not a given one.</summary>
    public bool DeadlineFromScheduler { get; init; }

    /// <summary>The Slurm job this process runs in (<c>SLURM_JOB_ID</c>); null outside Slurm.</summary>
    public string? SlurmJobId { get; init; }

    /// <summary>
    /// Inside a Slurm job without a given deadline: ask Slurm for the job's end time before the first
    /// iteration, and again at most this often (a time extension moves the deadline); null: never ask.
    /// </summary>
    public TimeSpan? SlurmEndTimeEvery { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>This job's link in a chain of jobs (1 for the first); 0 when the job is not chained.</summary>
    public int ChainLink { get; init; }

    /// <summary>The longest chain: the link with this number does not ask for another.</summary>
    public int ChainMax { get; init; }

    /// <summary>The job already queued to continue this one (the batch script submits it with a dependency); null when none.</summary>
    public string? ChainNextJob { get; init; }

    /// <summary>The tolerance is a fraction of the first residual since the last (re)start, not an absolute value.</summary>
    public bool RelativeTolerance { get; init; }

    /// <summary>End as <see cref="RunOutcome.Diverged"/> when the residual grows above this times its best; none when null.</summary>
    public double? DivergenceFactor { get; init; }

    /// <summary>End as <see cref="RunOutcome.Stagnated"/> (or warn) when the residual stops improving; none when null.</summary>
    public StagnationRule? Stagnation { get; init; }

    /// <summary>The checkpoint folder in use.</summary>
    public string CheckpointFolder => CheckpointDirectory ?? Path.Combine(ServiceDirectory, "checkpoints");

    /// <summary>The notifications file the service appends to.</summary>
    public string NotificationsFile => Path.Combine(ServiceDirectory, "notifications.txt");

    /// <summary>The status page the service shows.</summary>
    public string StatusFile => Path.Combine(ServiceDirectory, "status.html");

    /// <summary>The result the service passes to the workflow's next step.</summary>
    public string ResultFile => Path.Combine(ServiceDirectory, "result.txt");

    /// <summary>Checks every value; throws <see cref="OptionsException"/> with a one-line message.</summary>
    public RunOptions Validate()
    {
        Require(!string.IsNullOrWhiteSpace(ServiceDirectory), "the service folder must not be empty");
        Require(double.IsFinite(Tolerance) && Tolerance > 0, $"tolerance must be a positive finite number, got {Tolerance.ToString(CultureInfo.InvariantCulture)}");
        Require(MaxIterations >= 1, $"max iterations must be at least 1, got {MaxIterations}");
        Require(PollInterval >= TimeSpan.FromMilliseconds(1) && PollInterval <= TimeSpan.FromMinutes(10), $"poll interval must be 1 ms to 10 min, got {PollInterval.TotalMilliseconds} ms");
        Require(MaxLineBytes is >= 64 and <= 1 << 20, $"max line bytes must be 64 to 1048576, got {MaxLineBytes}");
        Require(StatusInterval >= TimeSpan.FromMilliseconds(50), $"status interval must be at least 50 ms, got {StatusInterval.TotalMilliseconds} ms");
        Require(ProgressInterval >= TimeSpan.FromMilliseconds(100), $"progress interval must be at least 100 ms, got {ProgressInterval.TotalMilliseconds} ms");
        Require(CheckpointDirectory is null || !string.IsNullOrWhiteSpace(CheckpointDirectory), "the checkpoint folder must not be empty");
        Require(CheckpointKeep is >= 1 and <= 10_000, $"checkpoints to keep must be 1 to 10000, got {CheckpointKeep}");
        Require(DivergenceFactor is null || (double.IsFinite(DivergenceFactor.Value) && DivergenceFactor > 1), $"divergence factor must be a finite number above 1, got {DivergenceFactor?.ToString(CultureInfo.InvariantCulture)}");
        Require(Stagnation is null || (Stagnation.Window is >= 2 and <= StagnationRule.MaxWindow && Stagnation.Fraction is > 0 and < 1), $"stagnation must be WINDOW:FRACTION with a window of 2 to {StagnationRule.MaxWindow} and a fraction between 0 and 1, got {Stagnation}");
        Require(DeadlineMargin >= TimeSpan.Zero, $"deadline margin must not be negative, got {DeadlineMargin.TotalSeconds} s");
        Require(SlurmEndTimeEvery is null || SlurmEndTimeEvery >= TimeSpan.FromSeconds(5), $"--slurm-end-time must be on, off or at least 5s, got {SlurmEndTimeEvery?.TotalSeconds} s");
        Require(ChainLink >= 0 && ChainMax >= 0, $"chain link and maximum must not be negative, got link {ChainLink} of {ChainMax}");
        Require(ChainLink == 0 || ChainMax >= ChainLink, $"chain link {ChainLink} is beyond the maximum chain length {ChainMax}: raise --chain-max or stop the chain");
        return this;
    }

    /// <summary>
    /// Resolves options from the command line (first), the environment (second) and <paramref name="defaults"/>.
    /// Arguments the framework does not know are returned for the solver.
    /// </summary>
    /// <exception cref="OptionsException">A value is malformed or out of range; the message names the option.</exception>
    public static RunOptions Parse(IReadOnlyList<string> args, out List<string> remaining, RunOptions? defaults = null, Func<string, string?>? environment = null) =>
        RunOptionsParser.Parse(args, out remaining, defaults ?? new RunOptions(), environment ?? Environment.GetEnvironmentVariable);

    /// <summary>
    /// The framework's options (read-only): each row's name, environment variable and help. A solver declares
    /// its own options in an <see cref="OptionTable{T}"/> of its own and passes it to the job's entry point.
    /// </summary>
    public static OptionTable<RunOptions> Table => RunOptionsParser.Table;

    /// <summary>
    /// The resolved settings on one line, for the start-up log; identical on every rank (the ranks compare
    /// it), so the deadline shows only as set: a relative one (<c>+90s</c>) resolves on each rank's clock,
    /// and only rank 0 uses it (its own log line gives the time).
    /// </summary>
    public string Describe() => FormattableString.Invariant(
        $"service={ServiceDirectory} tolerance={Tolerance:G6} max-iterations={MaxIterations} sync={Sync} poll={PollInterval.TotalMilliseconds:0}ms change-notifications={(UseChangeNotifications ? "on" : "off")} replay={(ReplayExistingNotifications ? "on" : "off")} status-every={StatusInterval.TotalSeconds:0.###}s progress-every={ProgressInterval.TotalSeconds:0.###}s checkpoints={CheckpointFolder} checkpoint-every={CheckpointEvery?.ToString() ?? "off"} keep={CheckpointKeep} resume={(Resume ? "on" : "off")} signals={Signals} deadline={(Deadline is null ? "none" : "set")} slurm-end-time={(SlurmEndTimeEvery is { } every ? $"{every.TotalSeconds:0}s" : "off")}{(SlurmJobId is null ? string.Empty : $" slurm-job={SlurmJobId}")}{(ChainLink == 0 ? string.Empty : $" chain-link={ChainLink}/{ChainMax} next-job={ChainNextJob ?? "none"}")} tolerance-kind={(RelativeTolerance ? "relative" : "absolute")} divergence-factor={(DivergenceFactor is { } factor ? factor.ToString("R", CultureInfo.InvariantCulture) : "off")} stagnation={Stagnation?.ToString() ?? "off"}");

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new OptionsException(message);
        }
    }
}
