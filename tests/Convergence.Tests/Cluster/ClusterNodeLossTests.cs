using System.Diagnostics;
using System.Globalization;
using Convergence.Mpi;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cluster;

/// <summary>
/// A node lost mid-run (every process inside node2 killed at once, as a crash or a power loss would) under
/// MPICH's hydra, started through the SemWES entry point as a cluster job is. Hydra notices the lost proxy and
/// ends every rank on the surviving node at once, rank 0 included, so no rank can write a result; the entry
/// point, which started the launcher on the surviving first node, writes FAILED as soon as the launcher
/// returns — wherever rank 0 ran.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterNodeLossTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Theory]
    [InlineData(LocalCluster.First)]
    [InlineData(LocalCluster.Second)]
    public void LosingTheSecondNode_EndsTheJobPromptly_WithAFailedResult(string rankZeroNode)
    {
        var service = Repo.NewTempFolder("cluster-lost");
        var other = rankZeroNode == LocalCluster.First ? LocalCluster.Second : LocalCluster.First;
        var environment = new Dictionary<string, string?>(RunningProcess.MpiEnvironment(MpiFamily.MpichAbi))
        {
            ["CONVERGENCE_SERVICE_DIR"] = service,
            ["CONVERGENCE_LAUNCHER"] = $"mpirun.mpich -hosts {rankZeroNode}:2,{other}:2 -np 4",
            ["CONVERGENCE_APP"] = Poisson,
        };
        using var job = RunningProcess.Start(LocalCluster.Script, [
            "run", LocalCluster.First, Path.Combine(Repo.Root, "jobscripts", "semwes-entrypoint.sh"),
            "--n", "16", "--method", "jacobi", "--tolerance", "1e-12", "--slow-ms", "2", "--progress-ms", "100"], environment);
        ServiceFiles.WaitUntil(
            () => job.HasExited || job.Stdout.Contains("progress iteration=", StringComparison.Ordinal),
            TimeSpan.FromSeconds(150),
            () => $"the job did not start iterating\n{job.Output}");
        Assert.False(job.HasExited, job.Output);
        Assert.Matches($@"signals: \S+ on rank 0 pid \d+ host {rankZeroNode}\b", job.Stdout);

        var lost = Stopwatch.StartNew();
        Assert.True(LocalCluster.KillNode(LocalCluster.Second) >= 2, "nothing to kill inside node2");
        var code = job.WaitForExit(TimeSpan.FromSeconds(90));
        var ended = lost.Elapsed;

        var result = Notify.ReadResult(service);
        Assert.NotEqual(0, code);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal(code.ToString(CultureInfo.InvariantCulture), result["exit_code"]);
        Assert.True(ended < TimeSpan.FromSeconds(60), $"the job took {ended.TotalSeconds:0.0} s to end after node2 was lost\n{job.Output}");
    }
}
