using System.Globalization;
using System.Text.RegularExpressions;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

/// <summary>Starts the 2-rank Poisson example under mpirun for the checkpoint tests and reads what it printed.</summary>
internal static partial class PoissonJob
{
    /// <summary>A small Jacobi run (deterministic, so runs can be compared bit for bit).</summary>
    public static readonly string[] Small = ["--n", "16", "--method", "jacobi", "--status-ms", "200", "--progress-ms", "200"];

    public static string Dll => Repo.Output("examples/Poisson", "Poisson");

    public static RunningProcess Start(string service, params string[] args) =>
        RunningProcess.MpiRun(2, Dll, ["--service", service, .. Small, .. args]);

    /// <summary>Waits until <paramref name="rank"/> has printed its signal line and returns its process id.</summary>
    public static int WaitForPid(RunningProcess job, int rank)
    {
        job.WaitForOutput($"on rank {rank} pid ", TimeSpan.FromSeconds(60));
        var match = PidLine().Matches(job.Stdout).First(m => m.Groups[1].Value == rank.ToString(CultureInfo.InvariantCulture));
        return int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. TERM) to one process with /bin/kill.</summary>
    public static void Signal(int pid, string signal)
    {
        using var kill = RunningProcess.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
        Assert.Equal(0, kill.WaitForExit(TimeSpan.FromSeconds(10)));
    }

    [GeneratedRegex(@"signals: \S+ on rank (\d+) pid (\d+)")]
    private static partial Regex PidLine();
}
