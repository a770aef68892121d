using System.Globalization;
using Convergence.Checkpoints;
using Convergence.Criteria;
using Convergence.Signals;
using Convergence.Solver;

namespace Convergence.Options;

/// <summary>
/// The settings of one run: a frozen snapshot, identical on every rank. Build one with <see cref="Parse"/>
/// (command line, then environment, then defaults), an object initialiser or a <c>with</c> expression.
/// </summary>
/// <remarks>
/// Every value is checked where it is set, as the runtime's channel options check theirs: an <c>init</c>
/// that is out of range throws <see cref="OptionsException"/> with one line naming the option, what is
/// allowed and what it got, so a <see cref="RunOptions"/> that exists holds valid values and nothing later
/// has to remember to check them. The one rule between two values, a chain link within the chain's
/// maximum (<see cref="ChainLink"/> ≤ <see cref="ChainMax"/>), cannot be checked by either setter alone (the
/// order they are set in is free); <see cref="Parse"/> refuses it, and a record built in code with a link
/// beyond its maximum ends its chain at the first stop (<see cref="Hosting.ChainStep"/>). The ranks compare
/// <see cref="Fingerprint"/> before the first iteration.
/// </remarks>
public sealed record RunOptions
{
    /// <summary>The service folder used inside the SemWES container.</summary>
    public const string DefaultServiceDirectory = "/service";

    /// <summary>Folder holding <c>notifications.txt</c>, <c>status.html</c> and <c>result.txt</c>.</summary>
    public string ServiceDirectory
    {
        get;
        init => field = string.IsNullOrWhiteSpace(value) ? throw Refused("--service", "a folder (not empty)", $"'{value}'") : value;
    } = DefaultServiceDirectory;

    /// <summary>Name shown on the status page and in the result; the solver's name when unset.</summary>
    public string? JobName { get; init; }

    /// <summary>Converged when the global residual is below this.</summary>
    public double Tolerance
    {
        get;
        init => field = double.IsFinite(value) && value > 0 ? value : throw Refused("--tolerance", "a positive finite number (e.g. 1e-8)", Number(value));
    } = 1e-6;

    /// <summary>Stop with <see cref="RunOutcome.IterationLimit"/> after this many iterations since the last (re)start.</summary>
    public long MaxIterations
    {
        get;
        init => field = value >= 1 ? value : throw Refused("--max-iterations", "at least 1", Number(value));
    } = 100_000_000;

    /// <summary>When ranks exchange control data.</summary>
    public SyncPolicy Sync
    {
        get;
        init => field = value is not null && (value.Mode == SyncMode.EveryK ? value.K >= 1 : value.Interval > TimeSpan.Zero)
            ? value
            : throw Refused("--sync", "adaptive[:MS] with MS > 0, every:K with K >= 1, or piggyback", value?.ToString() ?? "none");
    } = SyncPolicy.Default;

    /// <summary>How often rank 0's background thread looks at the notifications file.</summary>
    public TimeSpan PollInterval
    {
        get;
        init => field = value >= TimeSpan.FromMilliseconds(1) && value <= TimeSpan.FromMinutes(10) ? value : throw Refused("--poll-ms", "1 to 600000 ms", Milliseconds(value));
    } = TimeSpan.FromMilliseconds(250);

    /// <summary>Also wake the watcher on file-system change events (polling runs regardless).</summary>
    public bool UseChangeNotifications { get; init; } = true;

    /// <summary>Apply messages already in the notifications file at start (by default they are skipped).</summary>
    public bool ReplayExistingNotifications { get; init; }

    /// <summary>Longest accepted message line in bytes; longer lines are skipped without being buffered.</summary>
    public int MaxLineBytes
    {
        get;
        init => field = value is >= 64 and <= 1 << 20 ? value : throw Refused("--max-line-bytes", "64 to 1048576", Number(value));
    } = 4096;

    /// <summary>How often the status page is rewritten while the job runs.</summary>
    public TimeSpan StatusInterval
    {
        get;
        init => field = value >= TimeSpan.FromMilliseconds(50) ? value : throw Refused("--status-ms", "at least 50 ms", Milliseconds(value));
    } = TimeSpan.FromSeconds(1);

    /// <summary>How often a progress line goes to the log.</summary>
    public TimeSpan ProgressInterval
    {
        get;
        init => field = value >= TimeSpan.FromMilliseconds(100) ? value : throw Refused("--progress-ms", "at least 100 ms", Milliseconds(value));
    } = TimeSpan.FromSeconds(5);

    /// <summary>Where checkpoints go; <c>&lt;service&gt;/checkpoints</c> when unset (see docs/checkpoints.md: use /scratch in production).</summary>
    public string? CheckpointDirectory
    {
        get;
        init => field = value is null || !string.IsNullOrWhiteSpace(value) ? value : throw Refused("--checkpoint-dir", "a folder (not empty)", $"'{value}'");
    }

    /// <summary>
    /// The shared level of two-level checkpoints: when <see cref="CheckpointFolder"/> turns out to be node-local
    /// (not the same folder for every rank), each rank's part is also copied here in the background, and a resume
    /// reads a part from here when its node does not hold it. <c>&lt;service&gt;/checkpoints</c> when unset
    /// (see <see cref="CheckpointSharedFolder"/>).
    /// </summary>
    public string? CheckpointSharedDirectory
    {
        get;
        init => field = value is null || !string.IsNullOrWhiteSpace(value) ? value : throw Refused("--checkpoint-shared", "a folder (not empty)", $"'{value}'");
    }

    /// <summary>Periodic checkpoints (every N iterations or every T of wall time); none when null.</summary>
    public CheckpointPeriod? CheckpointEvery
    {
        get;
        init => field = value is null || (value.Iterations >= 1 && value.Interval == TimeSpan.Zero) || (value.Iterations == 0 && value.Interval > TimeSpan.Zero)
            ? value
            : throw Refused("--checkpoint-every", "N iterations (N >= 1) or a time above zero (30s, 15m), not both", $"{value.Iterations} iterations and {value.Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
    }

    /// <summary>How many complete checkpoints are kept; older ones are removed after each new one.</summary>
    public int CheckpointKeep
    {
        get;
        init => field = value is >= 1 and <= 10_000 ? value : throw Refused("--checkpoint-keep", "1 to 10000", Number(value));
    } = 3;

    /// <summary>Continue from the newest complete checkpoint in <see cref="CheckpointFolder"/> (start fresh when there is none).</summary>
    public bool Resume { get; init; }

    /// <summary>
    /// The checkpoint <c>--resume=ckpt-00000012</c> names (its number), or null for the newest that fits: that
    /// one is loaded, or the job is refused (never an older one, never a fresh start).
    /// </summary>
    public long? ResumeFrom { get; init; }

    /// <summary>Which POSIX signals are caught and what they ask for.</summary>
    public SignalMap Signals
    {
        get;
        init => field = value ?? throw Refused("--signals", "a signal map (TERM=stop,...) or SignalMap.None", "none");
    } = SignalMap.Default;

    /// <summary>The allocation's end: the job stops with a checkpoint early enough to finish before it; none when null.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Time kept in reserve before <see cref="Deadline"/> after the last checkpoint (result, page, MPI shutdown).</summary>
    public TimeSpan DeadlineMargin
    {
        get;
        init => field = value >= TimeSpan.Zero ? value : throw Refused("--deadline-margin", "zero or more (e.g. 10s)", Seconds(value));
    } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A rank that has not finished its iteration for this long while other ranks wait for it ends the job FAILED
    /// (naming the rank and its host) instead of letting it hang until the wall time; null for never. The page
    /// names such a rank after half this time (after 30 s when unset).
    /// </summary>
    public TimeSpan? StallTimeout
    {
        get;
        init => field = value is null || value >= TimeSpan.FromSeconds(2) ? value : throw Refused("--stall-timeout", "at least 2s (e.g. 10m) or off", Seconds(value.Value));
    }

    /// <summary>How long a rank may be behind before the page names it: half <see cref="StallTimeout"/>, at most 30 s.</summary>
    public TimeSpan StallNotice => StallTimeout is { } timeout && timeout < TimeSpan.FromSeconds(60) ? timeout / 2 : TimeSpan.FromSeconds(30);

    /// <summary>True when <see cref="Deadline"/> is the scheduler's end time (<c>SLURM_JOB_END_TIME</c> or asked of Slurm), not a given one.</summary>
    public bool DeadlineFromScheduler { get; init; }

    /// <summary>The Slurm job this process runs in (<c>SLURM_JOB_ID</c>); null outside Slurm.</summary>
    public string? SlurmJobId { get; init; }

    /// <summary>
    /// Inside a Slurm job without a given deadline: ask Slurm for the job's end time before the first
    /// iteration, and again at most this often (a time extension moves the deadline); null: never ask.
    /// </summary>
    public TimeSpan? SlurmEndTimeEvery
    {
        get;
        init => field = value is null || value >= TimeSpan.FromSeconds(5) ? value : throw Refused("--slurm-end-time", "on, off or at least 5s", Seconds(value.Value));
    } = TimeSpan.FromSeconds(60);

    /// <summary>This job's link in a chain of jobs (1 for the first); 0 when the job is not chained.</summary>
    public int ChainLink
    {
        get;
        init => field = value >= 0 ? value : throw Refused("--chain-link", "0 (not chained) or more", Number(value));
    }

    /// <summary>The longest chain: the link with this number does not ask for another.</summary>
    public int ChainMax
    {
        get;
        init => field = value >= 0 ? value : throw Refused("--chain-max", "0 or more", Number(value));
    }

    /// <summary>The job already queued to continue this one (the batch script submits it with a dependency); null when none.</summary>
    public string? ChainNextJob
    {
        get;
        init => field = value is null || !string.IsNullOrWhiteSpace(value) ? value : throw Refused("--chain-next-job", "a job id (not empty)", $"'{value}'");
    }

    /// <summary>The tolerance is a fraction of the first residual since the last (re)start, not an absolute value.</summary>
    public bool RelativeTolerance { get; init; }

    /// <summary>End as <see cref="RunOutcome.Diverged"/> when the residual grows above this times its best; none when null.</summary>
    public double? DivergenceFactor
    {
        get;
        init => field = value is null || (double.IsFinite(value.Value) && value > 1) ? value : throw Refused("--divergence-factor", "a finite number above 1 (e.g. 1e4) or off", Number(value.Value));
    }

    /// <summary>End as <see cref="RunOutcome.Stagnated"/> (or warn) when the residual stops improving; none when null.</summary>
    public StagnationRule? Stagnation
    {
        get;
        init => field = value is null || (value.Window is >= 2 and <= StagnationRule.MaxWindow && value.Fraction is > 0 and < 1)
            ? value
            : throw Refused("--stagnation", $"WINDOW:FRACTION with a window of 2 to {StagnationRule.MaxWindow.ToString(CultureInfo.InvariantCulture)} and a fraction between 0 and 1", value.ToString());
    }

    /// <summary>
    /// The options the user gave, by name (<c>--tolerance</c>), each with where it came from (<c>option
    /// --tolerance</c> or <c>environment variable CONVERGENCE_TOLERANCE</c>); an option not listed has its
    /// default (the solver's or the framework's). Filled by <see cref="Parse"/>, empty for options built in
    /// code. On <c>--resume</c> a given value wins over the checkpoint's (<see cref="GivenBy"/>).
    /// </summary>
    public IReadOnlyDictionary<string, string> Given
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(value));
    } = new Dictionary<string, string>();

    /// <summary>Where the user gave <paramref name="option"/> (e.g. <c>option --tolerance</c>), or null when it has its default.</summary>
    /// <param name="option">The option's name, e.g. <c>--tolerance</c>.</param>
    public string? GivenBy(string option) => Given.GetValueOrDefault(option);

    /// <summary>The checkpoint folder in use.</summary>
    public string CheckpointFolder => CheckpointDirectory ?? Path.Combine(ServiceDirectory, "checkpoints");

    /// <summary>The shared level of two-level checkpoints: <see cref="CheckpointSharedDirectory"/>, or <c>&lt;service&gt;/checkpoints</c>.</summary>
    public string CheckpointSharedFolder => CheckpointSharedDirectory ?? Path.Combine(ServiceDirectory, "checkpoints");

    /// <summary>The notifications file the service appends to.</summary>
    public string NotificationsFile => Path.Combine(ServiceDirectory, "notifications.txt");

    /// <summary>The status page the service shows.</summary>
    public string StatusFile => Path.Combine(ServiceDirectory, "status.html");

    /// <summary>The result the service passes to the workflow's next step.</summary>
    public string ResultFile => Path.Combine(ServiceDirectory, "result.txt");

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
    /// The resolved settings on one line, for the start-up log and the refusal when ranks disagree (numbers
    /// rounded for reading: the ranks compare <see cref="Fingerprint"/>, not this text). The deadline shows
    /// only as set: a relative one (<c>+90s</c>) resolves on each rank's clock, and only rank 0 uses it (its
    /// own log line gives the time).
    /// </summary>
    public string Describe() => FormattableString.Invariant(
        $"service={ServiceDirectory} tolerance={Tolerance:G6} max-iterations={MaxIterations} sync={Sync} poll={PollInterval.TotalMilliseconds:0}ms change-notifications={(UseChangeNotifications ? "on" : "off")} replay={(ReplayExistingNotifications ? "on" : "off")} status-every={StatusInterval.TotalSeconds:0.###}s progress-every={ProgressInterval.TotalSeconds:0.###}s checkpoints={CheckpointFolder} checkpoint-every={CheckpointEvery?.ToString() ?? "off"} keep={CheckpointKeep} resume={(Resume ? ResumeFrom is { } from ? Checkpoints.CheckpointStore.NameOf(from) : "on" : "off")} signals={Signals} deadline={(Deadline is null ? "none" : "set")} slurm-end-time={(SlurmEndTimeEvery is { } every ? $"{every.TotalSeconds:0}s" : "off")}{(SlurmJobId is null ? string.Empty : $" slurm-job={SlurmJobId}")}{(ChainLink == 0 ? string.Empty : $" chain-link={ChainLink}/{ChainMax} next-job={ChainNextJob ?? "none"}")} tolerance-kind={(RelativeTolerance ? "relative" : "absolute")} divergence-factor={(DivergenceFactor is { } factor ? factor.ToString("R", CultureInfo.InvariantCulture) : "off")} stagnation={Stagnation?.ToString() ?? "off"} stall-timeout={(StallTimeout is { } stall ? $"{stall.TotalSeconds:0.###}s" : "off")}");

    /// <summary>
    /// The values themselves, for the ranks' agreement check: every field (doubles by their bits, strings as
    /// UTF-8), independent of <see cref="Describe"/>'s wording and rounding. <see cref="Deadline"/> counts only as
    /// set or not: a relative one (<c>+90s</c>) resolves on each rank's clock, and only rank 0 uses it.
    /// </summary>
    /// <returns>A fingerprint of these options; the job entry point adds the solver's own options to it.</returns>
    public OptionFingerprint Fingerprint()
    {
        var fingerprint = new OptionFingerprint()
            .Add(nameof(ServiceDirectory), ServiceDirectory)
            .Add(nameof(JobName), JobName)
            .Add(nameof(Tolerance), Tolerance)
            .Add(nameof(MaxIterations), MaxIterations)
            .Add("Sync.Mode", (long)Sync.Mode)
            .Add("Sync.Interval", Sync.Interval)
            .Add("Sync.K", Sync.K)
            .Add(nameof(PollInterval), PollInterval)
            .Add(nameof(UseChangeNotifications), UseChangeNotifications)
            .Add(nameof(ReplayExistingNotifications), ReplayExistingNotifications)
            .Add(nameof(MaxLineBytes), MaxLineBytes)
            .Add(nameof(StatusInterval), StatusInterval)
            .Add(nameof(ProgressInterval), ProgressInterval)
            .Add(nameof(CheckpointDirectory), CheckpointDirectory)
            .Add(nameof(CheckpointSharedDirectory), CheckpointSharedDirectory)
            .Add(nameof(CheckpointEvery), CheckpointEvery is not null)
            .Add("CheckpointEvery.Iterations", CheckpointEvery?.Iterations ?? 0)
            .Add("CheckpointEvery.Interval", CheckpointEvery?.Interval ?? TimeSpan.Zero)
            .Add(nameof(CheckpointKeep), CheckpointKeep)
            .Add(nameof(Resume), Resume)
            .Add(nameof(ResumeFrom), ResumeFrom ?? 0)
            .Add("Tolerance.Given", Resume && GivenBy("--tolerance") is not null) // decides the tolerance on resume only
            .Add(nameof(Signals), Signals.Entries.Count);
        foreach (var (signal, action) in Signals.Entries)
        {
            fingerprint.Add("Signals." + signal, (long)action);
        }

        return fingerprint
            .Add(nameof(Deadline), Deadline is not null)
            .Add(nameof(DeadlineMargin), DeadlineMargin)
            .Add(nameof(DeadlineFromScheduler), DeadlineFromScheduler)
            .Add(nameof(StallTimeout), StallTimeout ?? TimeSpan.Zero)
            .Add(nameof(SlurmJobId), SlurmJobId)
            .Add(nameof(SlurmEndTimeEvery), SlurmEndTimeEvery is not null)
            .Add(nameof(SlurmEndTimeEvery), SlurmEndTimeEvery ?? TimeSpan.Zero)
            .Add(nameof(ChainLink), ChainLink)
            .Add(nameof(ChainMax), ChainMax)
            .Add(nameof(ChainNextJob), ChainNextJob)
            .Add(nameof(RelativeTolerance), RelativeTolerance)
            .Add(nameof(DivergenceFactor), DivergenceFactor is not null)
            .Add(nameof(DivergenceFactor), DivergenceFactor ?? 0)
            .Add(nameof(Stagnation), Stagnation is not null)
            .Add("Stagnation.Window", Stagnation?.Window ?? 0)
            .Add("Stagnation.Fraction", Stagnation?.Fraction ?? 0)
            .Add("Stagnation.WarnOnly", Stagnation?.WarnOnly ?? false);
    }

    /// <summary>The one-line refusal of a value: which option, what is allowed, what it got.</summary>
    private static OptionsException Refused(string option, string allowed, string got) => new($"{option} must be {allowed}, got {got}");

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Milliseconds(TimeSpan value) => value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms";

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s";
}
