using System.Globalization;
using System.Runtime.InteropServices;
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

    /// <summary>
    /// Sends <paramref name="signal"/> (TERM or USR1) to one process at once (libc kill, no helper process);
    /// false when the process has already gone.
    /// </summary>
    public static bool Signal(int pid, string signal) => Kill(pid, signal switch
    {
        "TERM" => 15,
        "USR1" => 10,
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "TERM or USR1"),
    }) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"signals: \S+ on rank (\d+) pid (\d+)")]
    private static partial Regex PidLine();
}
