using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Convergence.Mpi;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cluster;

/// <summary>
/// The contract on several nodes: the Poisson example on 4 ranks over the 2 nodes of the namespace cluster
/// (ranks 0-1 on node1, 2-3 on node2; each node its own network, hostname and /dev/shm, so the ranks of
/// different nodes talk over TCP), the launcher reaching node2 through the ssh stand-in. The service folder
/// is shared by both nodes; commands are appended from a process inside node2.
/// </summary>
/// <remarks>
/// The 4 ranks share this machine's two cores with whatever else runs, and MPI busy-polls while it waits:
/// grids are small, tolerances loose and the patience long (a hang still fails, slowness does not).
/// </remarks>
public abstract partial class ClusterJobTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(150);

    /// <summary>The MPI the derived class launches with.</summary>
    protected abstract MpiFamily Mpi { get; }

    [Fact]
    public void FourRanksOnTwoNodes_Converge_AndTheLogAndPageNameBothHosts()
    {
        var service = Repo.NewTempFolder("cluster-converge");
        using var job = LocalCluster.MpiRun(Mpi, Poisson, ["--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-2"]);

        Assert.Equal(0, job.WaitForExit(Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("4", result["ranks"]);
        Assert.Contains($"nodes: 2 ({LocalCluster.First}: ranks 0-1; {LocalCluster.Second}: ranks 2-3)", job.Stdout, StringComparison.Ordinal);
        for (var rank = 0; rank < 4; rank++)
        {
            Assert.Matches($@"signals: \S+ on rank {rank} pid \d+ host {(rank < 2 ? LocalCluster.First : LocalCluster.Second)}\b", job.Stdout);
        }

        using var status = JsonDocument.Parse(File.ReadAllText(Path.Combine(service, "status.json")));
        var nodes = status.RootElement.GetProperty("nodes").EnumerateArray().Select(n => (n.GetProperty("host").GetString(), n.GetProperty("ranks").GetString())).ToList();
        Assert.Equal([(LocalCluster.First, "0-1"), (LocalCluster.Second, "2-3")], nodes);
        Assert.Equal(4, EndLines(job.Stdout).Count(e => e == ("CONVERGED", result["iteration"])));
    }

    [Theory]
    [InlineData("on")]
    [InlineData("off")]
    public void StopAppendedOnTheOtherNode_IsAppliedByEveryRankAtTheSameIteration(string changeNotifications)
    {
        // "off" is the polling path a shared file system without change notifications (NFS) takes.
        var service = Repo.NewTempFolder("cluster-stop");
        var notifications = Path.Combine(service, "notifications.txt");
        using var job = LocalCluster.MpiRun(Mpi, Poisson, [
            "--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-12", "--slow-ms", "2",
            "--progress-ms", "100", "--change-notifications", changeNotifications]);
        WaitForIteration(job, 10);
        LocalCluster.Append(LocalCluster.Second, notifications, "STOP #end");

        Assert.Equal(0, job.WaitForExit(Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Contains($"change-notifications={changeNotifications}", job.Stdout, StringComparison.Ordinal);
        var applied = AppliedLine().Matches(job.Stdout)
            .Where(m => m.Groups["seq"].Value == "1")
            .Select(m => (Rank: m.Groups["rank"].Success ? int.Parse(m.Groups["rank"].Value, CultureInfo.InvariantCulture) : 0, Iteration: m.Groups["it"].Value))
            .ToList();
        Assert.True(applied.Select(a => a.Rank).Order().SequenceEqual([0, 1, 2, 3]), $"STOP applied by ranks [{string.Join(",", applied.Select(a => a.Rank).Order())}], expected 0-3 once each\n{job.Output}");
        Assert.True(applied.All(a => a.Iteration == result["iteration"]), $"STOP applied at different iterations: {string.Join(", ", applied)}, result iteration {result["iteration"]}\n{job.Output}");
        Assert.Matches(@"command applied seq=1 id=end iteration=\d+", job.Stdout);
        Assert.Equal(4, EndLines(job.Stdout).Count(e => e == ("STOPPED", result["iteration"])));
    }

    [Fact]
    public void RankFailingOnTheSecondNode_EndsTheJobPromptly_WithItsRankAndHost()
    {
        var service = Repo.NewTempFolder("cluster-fail");
        var watch = Stopwatch.StartNew();
        using var job = LocalCluster.MpiRun(Mpi, Poisson, [
            "--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-12", "--slow-ms", "2",
            "--fail-at-iteration", "20", "--fail-rank", "3"]);
        var resultFile = Path.Combine(service, "result.txt");
        ServiceFiles.WaitForFile(resultFile, Patience, () => job.Output);
        var written = watch.Elapsed;

        // Prompt: once the FAILED result is written the abort reaches every rank on both nodes; a hang
        // would last until the patience runs out.
        Assert.NotEqual(0, job.WaitForExit(TimeSpan.FromSeconds(60)));
        var afterResult = watch.Elapsed - written;
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("3", result["failed_rank"]);
        Assert.Equal(LocalCluster.Second, result["failed_host"]);
        Assert.Contains("injected failure at iteration 20 on rank 3", result["message"], StringComparison.Ordinal);
        Assert.True(afterResult < TimeSpan.FromSeconds(30), $"the job took {afterResult.TotalSeconds:0.0} s to end after the result was written\n{job.Output}");
    }

    private void WaitForIteration(RunningProcess job, long iteration) =>
        ServiceFiles.WaitUntil(
            () => job.HasExited || ProgressLine().Matches(job.Stdout).Any(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= iteration),
            Patience,
            () => $"iteration {iteration} not reached under {Mpi}\n{job.Output}");

    private static List<(string Outcome, string Iteration)> EndLines(string stdout) =>
        EndLine().Matches(stdout).Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToList();

    [GeneratedRegex(@"progress iteration=(\d+) total=\d+")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@"Z (?:\[rank (?<rank>\d+)\] )?command applied seq=(?<seq>\d+) id=\S+ iteration=(?<it>\d+) total=\d+")]
    private static partial Regex AppliedLine();

    [GeneratedRegex(@" end outcome=(\w+) iteration=(\d+) total=\d+")]
    private static partial Regex EndLine();
}

/// <summary>The contract across nodes under MPICH's hydra (UCX over TCP between the nodes).</summary>
[Collection(ClusterCollection.Name)]
public sealed class MpichClusterJobTests : ClusterJobTests
{
    /// <inheritdoc />
    protected override MpiFamily Mpi => MpiFamily.MpichAbi;
}

/// <summary>The contract across nodes under Open MPI (ob1 over TCP between the nodes).</summary>
[Collection(ClusterCollection.Name)]
public sealed class OpenMpiClusterJobTests : ClusterJobTests
{
    /// <inheritdoc />
    protected override MpiFamily Mpi => MpiFamily.OpenMpi;
}
