using System.Globalization;
using System.Text;
using Convergence.FileSystem;
using Convergence.Solver;

namespace Convergence.Output;

/// <summary>
/// <c>result.txt</c>: one <c>key=value</c> per line, <c>outcome</c> first, so a workflow's next step can
/// read it with <c>grep '^outcome='</c> or any properties parser. Format documented in the README.
/// </summary>
public static class ResultFile
{
    /// <summary>The outcome written at start, before the job has a result.</summary>
    public const string Unset = "UNSET";

    /// <summary>The upper-case word for an outcome as it appears after <c>outcome=</c>.</summary>
    public static string Word(RunOutcome outcome) => outcome switch
    {
        RunOutcome.Converged => "CONVERGED",
        RunOutcome.Stopped => "STOPPED",
        RunOutcome.Aborted => "ABORTED",
        RunOutcome.IterationLimit => "ITERATION_LIMIT",
        RunOutcome.Diverged => "DIVERGED",
        RunOutcome.Stagnated => "STAGNATED",
        _ => "FAILED",
    };

    /// <summary>The placeholder written before the first iteration.</summary>
    public static string FormatPlaceholder(string job, int ranks) => Format(
    [
        ("outcome", Unset),
        ("state", "running"),
        ("job", job),
        ("ranks", ranks.ToString(CultureInfo.InvariantCulture)),
        ("started_at", Now()),
    ]);

    /// <summary>The final result.</summary>
    public static string FormatResult(string job, int ranks, RunResult result, IEnumerable<(string Key, string Value)>? extra = null)
    {
        var fields = new List<(string, string)>
        {
            ("outcome", Word(result.Outcome)),
            ("job", job),
            ("iteration", result.Iteration.ToString(CultureInfo.InvariantCulture)),
            ("total_iterations", result.TotalIterations.ToString(CultureInfo.InvariantCulture)),
            ("residual", result.Residual.ToString("R", CultureInfo.InvariantCulture)),
            ("tolerance", result.Tolerance.ToString("R", CultureInfo.InvariantCulture)),
            ("restarts", result.Restarts.ToString(CultureInfo.InvariantCulture)),
            ("elapsed_seconds", result.Elapsed.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)),
            ("paused_seconds", result.Paused.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)),
            ("ranks", ranks.ToString(CultureInfo.InvariantCulture)),
            ("exit_code", result.ExitCode.ToString(CultureInfo.InvariantCulture)),
            ("finished_at", Now()),
        };
        if (!string.IsNullOrEmpty(result.Message))
        {
            fields.Add(("message", result.Message));
        }

        if (extra is not null)
        {
            fields.AddRange(extra);
        }

        return Format(fields);
    }

    /// <summary>A failure seen by one rank, written by that rank before it takes the job down.</summary>
    /// <param name="job">The job's name.</param>
    /// <param name="rank">The rank that saw the failure.</param>
    /// <param name="ranks">The number of ranks.</param>
    /// <param name="error">What went wrong, one line.</param>
    /// <param name="exitCode">The process exit code that goes with it (a refused resume is a usage error, 2).</param>
    /// <param name="host">The host of that rank (<c>failed_host</c>); null when unknown.</param>
    public static string FormatFailure(string job, int rank, int ranks, string error, int exitCode = ExitCodes.Failed, string? host = null) => Format(
    [
        ("outcome", "FAILED"),
        ("job", job),
        ("failed_rank", rank.ToString(CultureInfo.InvariantCulture)),
        .. host is null ? Array.Empty<(string, string)>() : [("failed_host", host)],
        ("ranks", ranks.ToString(CultureInfo.InvariantCulture)),
        ("exit_code", exitCode.ToString(CultureInfo.InvariantCulture)),
        ("finished_at", Now()),
        ("message", error),
    ]);

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/> atomically and durably. When the file
    /// system refuses the new file (full, out of inodes), the result is written over the existing file in
    /// place instead: the placeholder written at start holds blocks that a result of the same size reuses, so
    /// a full disk does not leave the outcome at <see cref="Unset"/>. That write is not atomic (a reader may
    /// see it half written for an instant), which beats a result that never comes.
    /// </summary>
    /// <exception cref="IOException">Neither way worked; the message names both reasons.</exception>
    public static void Write(string path, string content)
    {
        try
        {
            AtomicFile.WriteAllText(path, content, durable: true);
        }
        catch (IOException atomic)
        {
            try
            {
                OverwriteInPlace(path, Encoding.UTF8.GetBytes(content));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"cannot write {path}: {atomic.Message}; writing over the old file failed too: {ex.Message}", atomic);
            }
        }
    }

    private static void OverwriteInPlace(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        using var folder = FolderHandle.Open(Path.GetDirectoryName(full)!, followLink: true);
        using var handle = folder.OpenOrCreateForWrite(Path.GetFileName(full));
        RandomAccess.Write(handle, bytes, 0);
        RandomAccess.SetLength(handle, bytes.Length);
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>Reads a result file into its fields; later duplicates win. Lines without '=' are ignored.</summary>
    public static IReadOnlyDictionary<string, string> Parse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                fields[line[..eq]] = line[(eq + 1)..];
            }
        }

        return fields;
    }

    private static string Format(IEnumerable<(string Key, string Value)> fields)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in fields)
        {
            // One field per line: values never carry a line break into the file.
            sb.Append(key).Append('=').Append(value.Replace('\n', ' ').Replace('\r', ' ')).Append('\n');
        }

        return sb.ToString();
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
