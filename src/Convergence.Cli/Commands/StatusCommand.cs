using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Convergence.Output;
using Convergence.Status;

namespace Convergence.Cli.Commands;

/// <summary>
/// <c>convergence status [--service DIR]</c>: the job's state, iteration, residual, tolerance and recent
/// journal in the terminal, and its result once finished.
/// </summary>
/// <remarks>
/// Reads <c>status.json</c>, which the job writes atomically beside <c>status.html</c> (never the HTML,
/// whose layout is for people), and <c>result.txt</c>.
/// </remarks>
internal static class StatusCommand
{
    /// <summary>The command's name on the command line.</summary>
    public const string Name = "status";

    /// <summary>One line for the tool's command list.</summary>
    public const string Summary = "Show a job's state, residual, tolerance, recent commands (from its status.json) and result. Exit codes: 0 shown, 1 nothing to show, 2 bad command line.";

    private const int DefaultJournalLines = 10;

    /// <summary>The command for the tool's parser; its action prints the report.</summary>
    public static Command Create(Func<string, string?> environment)
    {
        var service = ServiceFolderOption.Create();
        var journal = new Option<int>("--journal")
        {
            Description = "How many recent commands to show (0 for none).",
            HelpName = "n",
            DefaultValueFactory = _ => DefaultJournalLines,
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                {
                    return n;
                }

                result.AddError($"--journal needs a whole number of 0 or more, got '{text}'");
                return 0;
            },
        };
        var command = new Command(Name, Summary) { service, journal };
        command.SetAction(parsed => Run(parsed.GetValue(service), parsed.GetValue(journal), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error, environment));
        return command;
    }

    /// <summary>Prints the report for the job's folder; returns the exit code.</summary>
    public static int Run(string? serviceOption, int journalLines, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        string folder;
        try
        {
            folder = ServiceFolderOption.Resolve(serviceOption, environment);
        }
        catch (CliUsageException ex)
        {
            stderr.WriteLine($"convergence status: {ex.Message}; run 'convergence status --help' for usage");
            return ExitCode.Usage;
        }

        if (!Directory.Exists(folder))
        {
            stderr.WriteLine($"convergence status: service folder '{folder}' does not exist; name the job's folder with --service or {ServiceFolderOption.EnvironmentVariable}");
            return ExitCode.Error;
        }

        try
        {
            var text = Render(folder, journalLines, DateTimeOffset.UtcNow);
            if (text is null)
            {
                stderr.WriteLine($"convergence status: no {StatusJson.FileName} or result.txt in '{folder}': the job has not started yet, or this is not its service folder");
                return ExitCode.Error;
            }

            stdout.Write(text);
            return ExitCode.Ok;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"convergence status: cannot read '{folder}': {ex.Message}");
            return ExitCode.Error;
        }
        catch (JsonException ex)
        {
            stderr.WriteLine($"convergence status: {Path.Combine(folder, StatusJson.FileName)} is not valid status JSON: {ex.Message}");
            return ExitCode.Error;
        }
    }

    /// <summary>The report for the job in <paramref name="folder"/>; null when it holds neither status nor result.</summary>
    internal static string? Render(string folder, int journalLines, DateTimeOffset now)
    {
        var statusPath = Path.Combine(folder, StatusJson.FileName);
        var resultPath = Path.Combine(folder, "result.txt");
        var status = ReadIfExists(statusPath);
        var result = ReadIfExists(resultPath);
        if (status is null && result is null)
        {
            return null;
        }

        var sb = new StringBuilder();
        var finished = false;
        if (status is not null)
        {
            using var document = JsonDocument.Parse(status);
            finished = AppendStatus(sb, document.RootElement, journalLines, now);
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"no {StatusJson.FileName} yet (the job writes it once its status reporter runs)\n");
        }

        if (result is not null)
        {
            var fields = ResultFile.Parse(result);
            var outcome = fields.GetValueOrDefault("outcome", "?");
            if (outcome == ResultFile.Unset && !finished)
            {
                Line(sb, "result", "not yet (outcome=UNSET)");
            }
            else
            {
                sb.Append("result (result.txt):\n");
                foreach (var raw in result.Split('\n'))
                {
                    var line = raw.TrimEnd('\r');
                    if (line.Length > 0)
                    {
                        sb.Append("  ").Append(line).Append('\n');
                    }
                }
            }
        }
        else if (finished)
        {
            Line(sb, "result", "result.txt missing although the job has finished");
        }

        return sb.ToString();
    }

    private static bool AppendStatus(StringBuilder sb, JsonElement root, int journalLines, DateTimeOffset now)
    {
        var ranks = Long(root, "ranks");
        Line(sb, "job", $"{String(root, "job") ?? "?"} (solver {String(root, "solver") ?? "?"}, {(ranks is { } r ? r.ToString(CultureInfo.InvariantCulture) : "?")} ranks)");
        Line(sb, "state", String(root, "state") ?? "?");
        Line(sb, "iteration", $"{Count(Long(root, "iteration"))} ({Count(Long(root, "totalIterations"))} in total, {Count(Long(root, "restarts"))} restarts)");
        Line(sb, "residual", Real(Double(root, "residual")));
        Line(sb, "tolerance", Real(Double(root, "tolerance")));
        if (Double(root, "iterationsPerSecond") is { } rate and > 0)
        {
            Line(sb, "rate", string.Create(CultureInfo.InvariantCulture, $"{rate:0} it/s"));
        }

        if (Double(root, "etaSeconds") is { } eta)
        {
            Line(sb, "eta", Seconds(eta));
        }

        if (Double(root, "elapsedSeconds") is { } elapsed)
        {
            Line(sb, "elapsed", Seconds(elapsed));
        }

        if (root.TryGetProperty("updatedAt", out var updated) && updated.TryGetDateTimeOffset(out var at))
        {
            Line(sb, "updated", $"{at.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)} ({Seconds(Math.Max(0, (now - at).TotalSeconds))} ago)");
        }

        if (String(root, "message") is { } message)
        {
            Line(sb, "message", OneLine(message));
        }

        if (String(root, "lastCheckpoint") is { } checkpoint)
        {
            Line(sb, "checkpoint", OneLine(checkpoint));
        }

        if (journalLines > 0 && root.TryGetProperty("journal", out var journal) && journal.ValueKind == JsonValueKind.Array)
        {
            var entries = journal.EnumerateArray().ToList();
            var shown = entries.Skip(Math.Max(0, entries.Count - journalLines)).ToList();
            sb.Append(CultureInfo.InvariantCulture, $"journal ({(shown.Count == 0 ? "no commands yet" : $"newest {shown.Count}")}):\n");
            foreach (var e in shown)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  #{Count(Long(e, "sequence"))} {OneLine(String(e, "text") ?? string.Empty)}: {Describe(e)}\n");
            }
        }

        return root.TryGetProperty("finished", out var finished) && finished.ValueKind == JsonValueKind.True;
    }

    private static string Describe(JsonElement entry)
    {
        var state = String(entry, "state") ?? "?";
        var reason = String(entry, "reason");
        var text = state switch
        {
            "Applied" => $"applied at iteration {Count(Long(entry, "appliedIteration"))}",
            "Rejected" => "rejected",
            "Received" => "received, waiting for the next sync",
            _ => state,
        };
        return reason is null ? text : $"{text} ({OneLine(reason)})";
    }

    private static void Line(StringBuilder sb, string label, string value) =>
        sb.Append(label.PadRight(11)).Append(value).Append('\n');

    /// <summary>The file's text, or null when it is missing; a link or FIFO planted there is refused, never followed or waited on.</summary>
    private static string? ReadIfExists(string path) =>
        ServiceFile.ReadAllTextAsync(path, "the job writes").GetAwaiter().GetResult();

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    private static double? Double(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static string Count(long? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) : "?";

    private static string Real(double? x) => x is { } v ? v.ToString("g4", CultureInfo.InvariantCulture) : "not known yet";

    private static string Seconds(double s) => s < 120
        ? string.Create(CultureInfo.InvariantCulture, $"{s:0.#} s")
        : TimeSpan.FromSeconds(Math.Round(s)).ToString(s >= 86400 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", CultureInfo.InvariantCulture);

    // Journal texts come from users; keep each on one terminal line.
    private static string OneLine(string s) => s.Replace('\n', ' ').Replace('\r', ' ');
}
