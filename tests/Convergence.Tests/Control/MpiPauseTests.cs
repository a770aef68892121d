using System.Globalization;
using Convergence.Mpi;
using Convergence.Tests.Checkpoints;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// What only real MPI processes show about a pause, at 3 ranks: the held ranks do not spin, and a signal, the
/// deadline and a rank that dies still end a paused job. Run under MPICH and Open MPI.
/// </summary>
public abstract class MpiPauseTests
{
    private const int Ranks = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>The MPI family whose launcher starts the job.</summary>
    protected abstract MpiFamily Family { get; }

    [Fact]
    public void PausedRanks_DoNotBurnACore()
    {
        var service = Repo.NewTempFolder("pause-cpu");
        using var job = Start(service);
        var pids = RankPids(job);
        Pause(service, job);

        // A rank waiting in a blocking collective spins at 100% of a core under MPICH (on this shared 2-core
        // machine, half a core or more); a held rank sleeps between looks. The bound leaves room for a loaded machine.
        var before = pids.Select(CpuSeconds).ToArray();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(4)); // the measurement window itself, not a wait for a condition
        var after = pids.Select(CpuSeconds).ToArray();
        var seconds = clock.Elapsed.TotalSeconds;
        var shares = before.Zip(after, (b, a) => (a - b) / seconds).ToArray();
        Assert.True(shares.All(s => s < 0.2), $"CPU share per rank while paused: {string.Join(", ", shares.Select(s => s.ToString("P1", CultureInfo.InvariantCulture)))}");

        Notify.Append(Path.Combine(service, "notifications.txt"), "STOP");
        Assert.Equal(0, job.WaitForExit(Patience));
    }

    [Fact]
    public void SigtermToOneRankWhilePaused_StopsWithACheckpointAtThePausedIteration()
    {
        var service = Repo.NewTempFolder("pause-sigterm");
        using var job = Start(service);
        var pids = RankPids(job);
        var at = Pause(service, job);

        Assert.True(PoissonJob.Signal(pids[2], "TERM"));
        Assert.Equal(0, job.WaitForExit(Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal(("STOPPED", at), (result["outcome"], result["iteration"]));
        Assert.Contains("stop signal on 1 of 3 rank(s)", result["message"], StringComparison.Ordinal);
        Assert.Contains("checkpoint ckpt-", result["message"], StringComparison.Ordinal);
    }

    [Fact]
    public void DeadlineWhilePaused_StopsWithACheckpointBeforeIt()
    {
        var service = Repo.NewTempFolder("pause-deadline");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(75);
        using var job = Start(service, "--deadline", deadline.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), "--deadline-margin", "50s");
        var at = Pause(service, job);

        Assert.Equal(0, job.WaitForExit(Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal(("STOPPED", at), (result["outcome"], result["iteration"]));
        Assert.Contains("wall-time deadline", result["message"], StringComparison.Ordinal);
        Assert.Contains("checkpoint ckpt-", result["message"], StringComparison.Ordinal);
        Assert.True(DateTimeOffset.Parse(result["finished_at"], CultureInfo.InvariantCulture) < deadline, result["finished_at"]);
    }

    [Fact]
    public void ARankKilledWhilePaused_EndsTheJobPromptly()
    {
        var service = Repo.NewTempFolder("pause-kill");
        using var job = Start(service);
        var pids = RankPids(job);
        Pause(service, job);

        using (var kill = RunningProcess.Start("kill", ["-KILL", pids[1].ToString(CultureInfo.InvariantCulture)]))
        {
            Assert.Equal(0, kill.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        // The launcher sees a rank die and takes the others down; a hang would run into the bound.
        Assert.NotEqual(0, job.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    private RunningProcess Start(string service, params string[] args) =>
        RunningProcess.MpiRun(Family, Ranks, PoissonJob.Dll, ["--service", service, "--n", "48", "--method", "jacobi", "--slow-ms", "10", "--progress-ms", "100", .. args]);

    /// <summary>Sends PAUSE once the job iterates and waits until the page says paused; returns the iteration it holds at.</summary>
    private static string Pause(string service, RunningProcess job)
    {
        job.WaitForOutput("progress iteration=", Patience);
        Notify.Append(Path.Combine(service, "notifications.txt"), "PAUSE #p");
        return StatusJsonWait.Until(service, job, s => s.GetProperty("state").GetString() == "Paused", "the page says paused", Patience)
            .GetProperty("paused").GetProperty("iteration").GetInt64().ToString(CultureInfo.InvariantCulture);
    }

    private static int[] RankPids(RunningProcess job) => Enumerable.Range(0, Ranks).Select(r => PoissonJob.WaitForPid(job, r)).ToArray();

    /// <summary>utime + stime of <paramref name="pid"/> from /proc/PID/stat, in seconds.</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

        // Fields 14 and 15 of the file; the split starts at field 3 (state). Clock ticks are 100 per second on Linux.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}

/// <summary>Pause under MPICH.</summary>
[Collection(MpiCollection.Name)]
public sealed class MpichPauseTests : MpiPauseTests
{
    protected override MpiFamily Family => MpiFamily.MpichAbi;
}

/// <summary>Pause under Open MPI.</summary>
[Collection(MpiCollection.Name)]
public sealed class OpenMpiPauseTests : MpiPauseTests
{
    protected override MpiFamily Family => MpiFamily.OpenMpi;
}
