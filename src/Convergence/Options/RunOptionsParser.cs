using System.Globalization;
using Convergence.Checkpoints;
using Convergence.Criteria;
using Convergence.Signals;
using Option = Convergence.Options.JobOption<Convergence.Options.RunOptions>;

namespace Convergence.Options;

/// <summary>The table behind <see cref="RunOptions.Parse"/>: one row per option, with its variable.</summary>
internal static class RunOptionsParser
{
    private static readonly Option[] Options =
    [
        new("--service", "CONVERGENCE_SERVICE_DIR", "DIR", "service folder (notifications.txt, status.html, result.txt)", (o, v) => o with { ServiceDirectory = v }),
        new("--job-name", "CONVERGENCE_JOB_NAME", "NAME", "name on the status page and in the result", (o, v) => o with { JobName = v }),
        new("--tolerance", "CONVERGENCE_TOLERANCE", "X", "converged when the global residual is below X (on --resume, when given, instead of the checkpoint's)", (o, v) => o with { Tolerance = Double(v) }),
        new("--relative-tolerance", "CONVERGENCE_RELATIVE_TOLERANCE", null, "the tolerance is relative to the first residual; --relative-tolerance=off", (o, v) => o with { RelativeTolerance = Bool(v) }),
        new("--divergence-factor", "CONVERGENCE_DIVERGENCE_FACTOR", "F", "DIVERGED when the residual grows above F times its best (F > 1); off", (o, v) => o with { DivergenceFactor = Factor(v) }),
        new("--stagnation", "CONVERGENCE_STAGNATION", "W:F[:warn]", "STAGNATED (or with :warn, a warning) when the best residual improved by less than fraction F over W iterations; off", (o, v) => o with { Stagnation = StagnationRule.Parse(v) }),
        new("--max-iterations", "CONVERGENCE_MAX_ITERATIONS", "N", "iteration limit per (re)start", (o, v) => o with { MaxIterations = Long(v) }),
        new("--sync", "CONVERGENCE_SYNC", "POLICY", "adaptive[:MS] | every:K | piggyback", (o, v) => o with { Sync = Sync(v) }),
        new("--poll-ms", "CONVERGENCE_POLL_MS", "MS", "notifications poll interval", (o, v) => o with { PollInterval = Milliseconds(v) }),
        new("--change-notifications", "CONVERGENCE_CHANGE_NOTIFICATIONS", "on|off", "wake on file-system events too", (o, v) => o with { UseChangeNotifications = Bool(v) }),
        new("--replay-notifications", "CONVERGENCE_REPLAY_NOTIFICATIONS", "on|off", "apply messages present at start", (o, v) => o with { ReplayExistingNotifications = Bool(v) }),
        new("--max-line-bytes", "CONVERGENCE_MAX_LINE_BYTES", "N", "longest accepted message line", (o, v) => o with { MaxLineBytes = (int)Long(v) }),
        new("--status-ms", "CONVERGENCE_STATUS_MS", "MS", "status page refresh interval", (o, v) => o with { StatusInterval = Milliseconds(v) }),
        new("--progress-ms", "CONVERGENCE_PROGRESS_MS", "MS", "progress line interval", (o, v) => o with { ProgressInterval = Milliseconds(v) }),
        new("--checkpoint-dir", "CONVERGENCE_CHECKPOINT_DIR", "DIR", "checkpoint folder (default <service>/checkpoints; use /scratch/... in production)", (o, v) => o with { CheckpointDirectory = v }),
        new("--checkpoint-shared", "CONVERGENCE_CHECKPOINT_SHARED", "DIR", "shared level when --checkpoint-dir is node-local: parts are copied there in the background, a resume on other nodes reads them (default <service>/checkpoints)", (o, v) => o with { CheckpointSharedDirectory = v }),
        new("--checkpoint-every", "CONVERGENCE_CHECKPOINT_EVERY", "N|TIME", "periodic checkpoint: every N iterations or every 30s/15m/2h; off", (o, v) => o with { CheckpointEvery = Period(v) }),
        new("--checkpoint-keep", "CONVERGENCE_CHECKPOINT_KEEP", "K", "complete checkpoints kept (default 3)", (o, v) => o with { CheckpointKeep = (int)Long(v) }),
        new("--resume", "CONVERGENCE_RESUME", null, "continue from the newest complete checkpoint (fresh start if none); a --tolerance given here or in the environment wins over the checkpoint's (not in a chain's later link); --resume=off; --resume=ckpt-00000012 loads that one (see convergence checkpoints list)", (o, v) => ResumeOption(o, v)),
        new("--signals", "CONVERGENCE_SIGNALS", "MAP", "TERM=stop,INT=stop,USR1=checkpoint (default) | none", (o, v) => o with { Signals = SignalMap.Parse(v) }),
        new("--deadline", "CONVERGENCE_DEADLINE", "TIME", "stop with a checkpoint before TIME: ISO 8601, Unix seconds or +90s/+15m (default: SLURM_JOB_END_TIME)", (o, v) => o with { Deadline = WallTimeBudget.ParseDeadline(v, DateTimeOffset.UtcNow) }),
        new("--deadline-margin", "CONVERGENCE_DEADLINE_MARGIN", "TIME", "reserve kept before the deadline after the last checkpoint (default 10s)", (o, v) => o with { DeadlineMargin = Duration(v) }),
        new("--stall-timeout", "CONVERGENCE_STALL_TIMEOUT", "TIME|off", "end the job FAILED when one rank has not finished its iteration for TIME while the others wait for it (e.g. 10m; default off)", (o, v) => o with { StallTimeout = v.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) ? null : Duration(v) }),
        new("--slurm-end-time", "CONVERGENCE_SLURM_END_TIME", "on|off|TIME", "in a Slurm job without --deadline: ask squeue for the end time, again every TIME (on = 60s) for extensions", (o, v) => o with { SlurmEndTimeEvery = SlurmEvery(v) }),
        new("--chain-link", "CONVERGENCE_CHAIN_LINK", "N", "this job's link in a chain of jobs (set by jobscripts/slurm-bare-metal.sbatch)", (o, v) => o with { ChainLink = (int)Long(v) }),
        new("--chain-max", "CONVERGENCE_CHAIN_MAX", "N", "longest chain: link N asks for no further link", (o, v) => o with { ChainMax = (int)Long(v) }),
        new("--chain-next-job", "CONVERGENCE_CHAIN_NEXT_JOB", "ID", "the job queued to continue this one after a deadline stop (set by the batch script)", (o, v) => o with { ChainNextJob = NonEmpty(v) }),
    ];

    /// <summary>Slurm (23.02 and later) puts the job's projected end, in Unix seconds, in this variable.</summary>
    private const string SlurmEndTimeVariable = "SLURM_JOB_END_TIME";

    /// <summary>The framework's options as a public table (for help and for tools); rows are added above.</summary>
    public static OptionTable<RunOptions> Table { get; } = CreateTable();

    /// <summary>The framework's option names, for the "did you mean" of a solver's unknown option.</summary>
    public static IEnumerable<string> Names => Options.Select(o => o.Name);

    /// <summary>True when the command line asks for help.</summary>
    public static bool WantsHelp(IReadOnlyList<string> args) => args.Contains("--help") || args.Contains("-h");

    /// <summary>Prints the framework's options, then the solver's own, to stdout.</summary>
    public static void PrintHelp(string? solverHelp) => PrintHelp(null, solverHelp);

    /// <summary>Prints the framework's options, the solver's table (if any) and the solver's own text (if any), in one layout.</summary>
    public static void PrintHelp(IOptionTable? solverOptions, string? solverHelp = null) =>
        Console.Out.Write(OptionHelp.Format(Table, solverOptions, solverHelp));

    public static RunOptions Parse(IReadOnlyList<string> args, out List<string> remaining, RunOptions defaults, Func<string, string?> environment)
    {
        var options = defaults;
        var slurmEnd = environment(SlurmEndTimeVariable);
        if (!string.IsNullOrEmpty(slurmEnd) && options.Deadline is null)
        {
            // The scheduler's own end time, unless an option or CONVERGENCE_DEADLINE names another.
            options = Apply(new Option("--deadline", SlurmEndTimeVariable, "TIME", "Slurm's end time", (o, v) => o with { Deadline = WallTimeBudget.ParseDeadline(v, DateTimeOffset.UtcNow), DeadlineFromScheduler = true }), options, slurmEnd, $"environment variable {SlurmEndTimeVariable}");
        }

        var slurmJob = environment(SlurmEndTime.JobIdVariable);
        if (!string.IsNullOrWhiteSpace(slurmJob))
        {
            options = options with { SlurmJobId = slurmJob.Trim() };
        }

        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        options = Table.Parse(args, out remaining, options, environment, given) with { Given = given };

        // A deadline given by option or CONVERGENCE_DEADLINE replaces Slurm's: it is the user's, not the scheduler's.
        if (options.DeadlineFromScheduler && GivenDeadline(args, environment))
        {
            options = options with { DeadlineFromScheduler = false };
        }

        // Each value was checked when it was set; the one rule between two values is checked once both are known.
        if (options.ChainLink != 0 && options.ChainLink > options.ChainMax)
        {
            throw new OptionsException(FormattableString.Invariant($"chain link {options.ChainLink} is beyond the maximum chain length {options.ChainMax}: raise --chain-max or stop the chain"));
        }

        return options;
    }

    private static RunOptions Apply(Option option, RunOptions options, string value, string source) =>
        OptionTable<RunOptions>.Apply(option, options, value, source);

    private static OptionTable<RunOptions> CreateTable()
    {
        var table = new OptionTable<RunOptions>("Options (command line first, then environment, then defaults)");
        foreach (var option in Options)
        {
            table.Add(option);
        }

        return table.Freeze();
    }

    private static double Double(string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw new FormatException($"'{v}' is not a number (e.g. 1e-8)");

    private static double? Factor(string v) =>
        v.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) ? null : Double(v);

    private static long Long(string v) =>
        long.TryParse(v.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
            ? l
            : throw new FormatException($"'{v}' is not a whole number");

    private static TimeSpan Milliseconds(string v) =>
        TimeSpan.FromMilliseconds(Double(v));

    /// <summary><c>--resume</c>'s value: on/off, or a checkpoint's name (<c>ckpt-</c> and its number).</summary>
    private static RunOptions ResumeOption(RunOptions o, string v)
    {
        var text = v.Trim();
        if (!text.StartsWith("ckpt-", StringComparison.Ordinal))
        {
            return o with { Resume = Bool(v), ResumeFrom = null };
        }

        return long.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 1
            ? o with { Resume = true, ResumeFrom = id }
            : throw new FormatException($"'{v}' is not on, off or a checkpoint name such as ckpt-00000012");
    }

    private static bool Bool(string v) => v.Trim().ToLowerInvariant() switch
    {
        "on" or "true" or "1" or "yes" => true,
        "off" or "false" or "0" or "no" => false,
        _ => throw new FormatException($"'{v}' is not on or off"),
    };

    private static SyncPolicy Sync(string v) => SyncPolicy.Parse(v);

    private static bool GivenDeadline(IReadOnlyList<string> args, Func<string, string?> environment) =>
        !string.IsNullOrEmpty(environment("CONVERGENCE_DEADLINE"))
        || args.Any(a => a == "--deadline" || a.StartsWith("--deadline=", StringComparison.Ordinal));

    private static TimeSpan? SlurmEvery(string v) => v.Trim().ToLowerInvariant() switch
    {
        "off" or "false" or "0" or "no" => null,
        "on" or "true" or "1" or "yes" => TimeSpan.FromSeconds(60),
        _ => Duration(v),
    };

    private static string NonEmpty(string v) =>
        string.IsNullOrWhiteSpace(v) ? throw new FormatException("needs a value, got an empty one") : v.Trim();

    private static CheckpointPeriod? Period(string v) =>
        v.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) ? null : CheckpointPeriod.Parse(v);

    private static TimeSpan Duration(string v) =>
        CheckpointPeriod.TryParseDuration(v, out var d)
            ? d
            : double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) && seconds >= 0
                ? TimeSpan.FromSeconds(seconds)
                : throw new FormatException($"'{v}' is not a time (e.g. 10s, 500ms, 2m; a bare number is seconds)");
}
