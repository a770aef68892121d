using System.Globalization;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Slurm;

/// <summary>
/// The real single-node Slurm of <c>jobscripts/local-slurm.sh</c>: started once per test run (idempotent;
/// CI's <c>tests/run-all.sh</c> has started it already), then jobs are submitted, watched and cancelled
/// with the ordinary client commands. Nothing is faked: a test that cannot start Slurm fails.
/// </summary>
internal static class LocalSlurm
{
    private static readonly Lazy<string> Started = new(Start);

    /// <summary>The bare-metal batch script.</summary>
    public static string BareMetalScript => Path.Combine(Repo.Root, "jobscripts", "slurm-bare-metal.sbatch");

    /// <summary>Makes sure the cluster runs; fails the test with the script's output when it cannot.</summary>
    public static void EnsureRunning() => _ = Started.Value;

    /// <summary>Runs a Slurm client command (sbatch, squeue, scontrol, scancel) and returns its stdout; throws on failure.</summary>
    public static string Run(string command, IEnumerable<string> args, IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        EnsureRunning();
        using var p = RunningProcess.Start(command, args, environment, workingDirectory);
        var code = p.WaitForExit(TimeSpan.FromSeconds(60));
        return code == 0 ? p.Stdout : throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed ({code}):\n{p.Output}");
    }

    /// <summary>Submits a batch job with <c>sbatch --parsable</c> and returns its id.</summary>
    public static string Submit(IEnumerable<string> sbatchArgs, IDictionary<string, string?>? environment, string workingDirectory) =>
        Run("sbatch", new[] { "--parsable" }.Concat(sbatchArgs), environment, workingDirectory).Trim().Split(';')[0];

    /// <summary>One field of <c>scontrol show job -o</c> (e.g. JobState, ExitCode); empty once Slurm has forgotten the job.</summary>
    public static string JobField(string jobId, string field)
    {
        EnsureRunning();
        using var p = RunningProcess.Start("scontrol", ["show", "job", "-o", jobId]);
        if (p.WaitForExit(TimeSpan.FromSeconds(30)) != 0)
        {
            return string.Empty;
        }

        foreach (var token in p.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (token.StartsWith(field + "=", StringComparison.Ordinal))
            {
                return token[(field.Length + 1)..];
            }
        }

        return string.Empty;
    }

    /// <summary>The job's end time as Slurm reports it (Unix seconds).</summary>
    public static DateTimeOffset EndTime(string jobId)
    {
        var text = Run("squeue", ["-h", "-j", jobId, "-o", "%e"], new Dictionary<string, string?> { ["SLURM_TIME_FORMAT"] = "%s", ["TZ"] = "UTC" }).Trim();
        return DateTimeOffset.FromUnixTimeSeconds(long.Parse(text, CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until the job is in <paramref name="state"/> (RUNNING, PENDING, COMPLETED, …).</summary>
    public static void WaitForState(string jobId, string state, TimeSpan timeout, Func<string> context) =>
        ServiceFiles.WaitUntil(() => JobField(jobId, "JobState") == state, timeout, () => $"job {jobId} is {JobField(jobId, "JobState")}, not {state}\n{context()}");

    /// <summary>Waits until the job has left the queue for good (any final state).</summary>
    public static void WaitForEnd(string jobId, TimeSpan timeout, Func<string> context) =>
        ServiceFiles.WaitUntil(
            () => JobField(jobId, "JobState") is "COMPLETED" or "CANCELLED" or "FAILED" or "TIMEOUT" or "NODE_FAIL" or "OUT_OF_MEMORY" or "",
            timeout,
            () => $"job {jobId} is still {JobField(jobId, "JobState")}\n{context()}");

    /// <summary>Cancels jobs, ignoring ones that already ended (test clean-up).</summary>
    public static void CancelQuietly(params string[] jobIds)
    {
        if (jobIds.Length == 0)
        {
            return;
        }

        using var p = RunningProcess.Start("scancel", jobIds);
        p.WaitForExit(TimeSpan.FromSeconds(30));
    }

    /// <summary>The text of a file, or a note that it is missing (for assertion messages).</summary>
    public static string Describe(string path) => File.Exists(path) ? $"--- {path} ---\n{File.ReadAllText(path)}" : $"({path} does not exist)";

    private static string Start()
    {
        using var p = RunningProcess.Start(Path.Combine(Repo.Root, "jobscripts", "local-slurm.sh"), ["start"]);
        var code = p.WaitForExit(TimeSpan.FromMinutes(10));
        return code == 0 ? p.Output : throw new InvalidOperationException($"jobscripts/local-slurm.sh start failed ({code}): the Slurm tests need a local Slurm\n{p.Output}");
    }
}
