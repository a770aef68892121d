using System.Diagnostics;
using System.Globalization;

namespace Convergence.Signals;

/// <summary>
/// Asks Slurm when the job's allocation ends, for Slurm versions that do not put it in
/// <c>SLURM_JOB_END_TIME</c> (before 23.02), and after a time extension (<c>scontrol update TimeLimit=</c>).
/// </summary>
/// <remarks>
/// Runs <c>squeue -h -j ID -o %e</c> with <c>SLURM_TIME_FORMAT=%s</c> (Unix seconds) and <c>TZ=UTC</c>, so the
/// answer does not depend on the node's time zone. A call blocks (a process, a round trip to slurmctld): rank
/// 0 makes it once before the first iteration and afterwards only on its <see cref="SlurmDeadlineWatch"/>
/// thread, never on the iteration path.
/// </remarks>
public static class SlurmEndTime
{
    /// <summary>The variable Slurm sets in every job (and step) to the job's id.</summary>
    public const string JobIdVariable = "SLURM_JOB_ID";

    /// <summary>The job's end time as Slurm reports it now; null (with <paramref name="problem"/>) when it cannot say.</summary>
    /// <param name="jobId">The job's id (<c>SLURM_JOB_ID</c>).</param>
    /// <param name="timeout">How long to wait for <c>squeue</c>.</param>
    /// <param name="problem">Why there is no answer: no squeue, an error, no time limit.</param>
    public static DateTimeOffset? Query(string jobId, TimeSpan timeout, out string? problem)
    {
        problem = null;
        var start = new ProcessStartInfo("squeue")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-h", "-j", jobId, "-o", "%e" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["SLURM_TIME_FORMAT"] = "%s";
        start.Environment["TZ"] = "UTC";
        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                problem = "squeue could not be started";
                return null;
            }

            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                problem = FormattableString.Invariant($"squeue did not answer within {timeout.TotalSeconds:0} s");
                return null;
            }

            if (process.ExitCode != 0)
            {
                problem = $"squeue -j {jobId} failed with exit code {process.ExitCode}: {OneLine(error.Result)}";
                return null;
            }

            return Parse(output.Result, out problem);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            problem = $"squeue is not available ({ex.Message})";
            return null;
        }
    }

    /// <summary>Parses squeue's end time: Unix seconds (as asked for), or an ISO date-time in UTC; null for none.</summary>
    public static DateTimeOffset? Parse(string output, out string? problem)
    {
        problem = null;
        var text = output.Trim();
        var firstLine = text.Split('\n', 2)[0].Trim();
        if (long.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var unix) && unix > 0)
        {
            return DateTimeOffset.FromUnixTimeSeconds(unix);
        }

        if (DateTimeOffset.TryParse(firstLine, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) && firstLine.Contains('T', StringComparison.Ordinal))
        {
            return at;
        }

        problem = firstLine.Length == 0
            ? "squeue does not list the job"
            : $"squeue gives no end time ('{OneLine(firstLine)}': no time limit?)";
        return null;
    }

    private static string OneLine(string text)
    {
        var t = text.Trim().Replace('\n', ' ').Replace('\r', ' ');
        return t.Length > 200 ? t[..200] : t;
    }
}
