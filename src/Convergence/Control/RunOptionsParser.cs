using System.Globalization;

namespace Convergence.Control;

/// <summary>The table behind <see cref="RunOptions.Parse"/>: one row per option, with its variable.</summary>
internal static class RunOptionsParser
{
    private sealed record Option(string Name, string? Variable, string? ValueName, string Help, Func<RunOptions, string, RunOptions> Apply);

    private static readonly Option[] Options =
    [
        new("--service", "CONVERGENCE_SERVICE_DIR", "DIR", "service folder (notifications.txt, status.html, result.txt)", (o, v) => o with { ServiceDirectory = v }),
        new("--job-name", "CONVERGENCE_JOB_NAME", "NAME", "name on the status page and in the result", (o, v) => o with { JobName = v }),
        new("--tolerance", "CONVERGENCE_TOLERANCE", "X", "converged when the global residual is below X", (o, v) => o with { Tolerance = Double("--tolerance", v) }),
        new("--max-iterations", "CONVERGENCE_MAX_ITERATIONS", "N", "iteration limit per (re)start", (o, v) => o with { MaxIterations = Long("--max-iterations", v) }),
        new("--sync", "CONVERGENCE_SYNC", "POLICY", "adaptive[:MS] | every:K | piggyback", (o, v) => o with { Sync = Sync(v) }),
        new("--poll-ms", "CONVERGENCE_POLL_MS", "MS", "notifications poll interval", (o, v) => o with { PollInterval = Milliseconds("--poll-ms", v) }),
        new("--change-notifications", "CONVERGENCE_CHANGE_NOTIFICATIONS", "on|off", "wake on file-system events too", (o, v) => o with { UseChangeNotifications = Bool("--change-notifications", v) }),
        new("--replay-notifications", "CONVERGENCE_REPLAY_NOTIFICATIONS", "on|off", "apply messages present at start", (o, v) => o with { ReplayExistingNotifications = Bool("--replay-notifications", v) }),
        new("--max-line-bytes", "CONVERGENCE_MAX_LINE_BYTES", "N", "longest accepted message line", (o, v) => o with { MaxLineBytes = (int)Long("--max-line-bytes", v) }),
        new("--status-ms", "CONVERGENCE_STATUS_MS", "MS", "status page refresh interval", (o, v) => o with { StatusInterval = Milliseconds("--status-ms", v) }),
        new("--progress-ms", "CONVERGENCE_PROGRESS_MS", "MS", "progress line interval", (o, v) => o with { ProgressInterval = Milliseconds("--progress-ms", v) }),
    ];

    /// <summary>The options as help text, one per line.</summary>
    public static string Help => string.Join(
        Environment.NewLine,
        Options.Select(o => $"  {o.Name} {o.ValueName,-8} {o.Help} (env {o.Variable})"));

    public static RunOptions Parse(IReadOnlyList<string> args, out List<string> remaining, RunOptions defaults, Func<string, string?> environment)
    {
        var options = defaults;
        foreach (var option in Options)
        {
            var value = option.Variable is null ? null : environment(option.Variable);
            if (!string.IsNullOrEmpty(value))
            {
                options = Apply(option, options, value, $"environment variable {option.Variable}");
            }
        }

        remaining = [];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
            var name = eq < 0 ? arg : arg[..eq];
            var option = Array.Find(Options, o => o.Name == name);
            if (option is null)
            {
                remaining.Add(arg);
                continue;
            }

            string value;
            if (eq >= 0)
            {
                value = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new OptionsException($"option {name} needs a value ({option.ValueName}): {option.Help}");
            }

            options = Apply(option, options, value, $"option {name}");
        }

        return options.Validate();
    }

    private static RunOptions Apply(Option option, RunOptions options, string value, string source)
    {
        try
        {
            return option.Apply(options, value);
        }
        catch (FormatException ex)
        {
            throw new OptionsException($"{source}: {ex.Message}");
        }
    }

    private static double Double(string name, string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw new FormatException($"'{v}' is not a number (e.g. 1e-8)");

    private static long Long(string name, string v) =>
        long.TryParse(v.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
            ? l
            : throw new FormatException($"'{v}' is not a whole number");

    private static TimeSpan Milliseconds(string name, string v) =>
        TimeSpan.FromMilliseconds(Double(name, v));

    private static bool Bool(string name, string v) => v.Trim().ToLowerInvariant() switch
    {
        "on" or "true" or "1" or "yes" => true,
        "off" or "false" or "0" or "no" => false,
        _ => throw new FormatException($"'{v}' is not on or off"),
    };

    private static SyncPolicy Sync(string v) => SyncPolicy.Parse(v);
}
