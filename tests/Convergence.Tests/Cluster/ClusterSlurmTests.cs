using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cluster;

/// <summary>
/// The namespace cluster's own Slurm (slurmctld on node1, one slurmd per node): <c>sbatch -N 2 -n 4</c> of the
/// bare-metal batch script places 2 ranks on each node, under <c>srun --mpi=pmi2</c> and under
/// <c>mpirun.mpich</c> inside the allocation; a plain <c>scancel</c> stops every rank with a checkpoint.
/// The host's one-node Slurm is not involved.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterSlurmTests
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(150);

    private static string BareMetalScript => Path.Combine(Repo.Root, "jobscripts", "slurm-bare-metal.sbatch");

    [Theory]
    [InlineData("srun")]
    [InlineData("mpirun")]
    public void SbatchOnTwoNodes_PlacesTwoRanksOnEach_AndConverges(string launch)
    {
        var folder = Repo.NewTempFolder("cluster-sbatch");
        var log = Path.Combine(folder, "job.log");
        var job = Submit(folder, log, launch, ["--n", "16", "--method", "jacobi", "--tolerance", "1e-2"]);
        try
        {
            WaitForEnd(job, log);
        }
        finally
        {
            CancelQuietly(job);
        }

        var text = File.ReadAllText(log);
        var result = Notify.ReadResult(Path.Combine(folder, "service"));
        Assert.True(result.GetValueOrDefault("outcome") == "CONVERGED", text);
        Assert.Equal("4", result["ranks"]);
        Assert.Contains($"nodes: 2 ({LocalCluster.First}: ranks 0-1; {LocalCluster.Second}: ranks 2-3)", text, StringComparison.Ordinal);
        Assert.Contains(launch == "srun" ? "started by srun with PMI2" : "via 'mpirun.mpich -np 4'", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Scancel_StopsEveryRankOnBothNodesWithACheckpoint()
    {
        var folder = Repo.NewTempFolder("cluster-scancel");
        var log = Path.Combine(folder, "job.log");
        var job = Submit(folder, log, "srun", ["--n", "16", "--method", "jacobi", "--tolerance", "1e-300", "--slow-ms", "5"]);
        try
        {
            ServiceFiles.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("progress iteration=", StringComparison.Ordinal), JobTimeout, () => Describe(log));
            LocalCluster.Slurm("scancel", [job]);
            WaitForEnd(job, log);
            ServiceFiles.WaitUntil(() => File.ReadAllText(log).Contains("link 1 finished", StringComparison.Ordinal), TimeSpan.FromSeconds(60), () => Describe(log));
        }
        finally
        {
            CancelQuietly(job);
        }

        var text = File.ReadAllText(log);
        var result = Notify.ReadResult(Path.Combine(folder, "service"));
        Assert.True(result.GetValueOrDefault("outcome") == "STOPPED", text);
        Assert.Equal("0", result["exit_code"]);
        Assert.Contains("complete (signal stop)", result["message"], StringComparison.Ordinal);
        Assert.Matches(@"ckpt-\d{8}$", result["checkpoint"]);
        Assert.Contains($"nodes: 2 ({LocalCluster.First}: ranks 0-1; {LocalCluster.Second}: ranks 2-3)", text, StringComparison.Ordinal);
        Assert.Equal(4, text.Split('\n').Count(l => l.Contains(" end outcome=STOPPED ", StringComparison.Ordinal)));
    }

    private static string Submit(string folder, string log, string launch, string[] solverArgs) =>
        LocalCluster.Slurm(
            "sbatch",
            ["--parsable", "-N", "2", "-n", "4", "--time=5", "-o", log, BareMetalScript, .. solverArgs],
            new Dictionary<string, string?> { ["CONVERGENCE_RUN_DIR"] = folder, ["CONVERGENCE_LAUNCH"] = launch },
            folder).Trim().Split(';')[0];

    private static void WaitForEnd(string job, string log) =>
        ServiceFiles.WaitUntil(
            () => LocalCluster.JobField(job, "JobState") is "COMPLETED" or "CANCELLED" or "FAILED" or "TIMEOUT" or "NODE_FAIL" or "",
            JobTimeout,
            () => $"job {job} is still {LocalCluster.JobField(job, "JobState")}\n{Describe(log)}");

    private static void CancelQuietly(string job)
    {
        try
        {
            LocalCluster.Slurm("scancel", [job]);
        }
        catch (InvalidOperationException)
        {
            // Already gone: nothing to clean up.
        }
    }

    private static string Describe(string path) => File.Exists(path) ? $"--- {path} ---\n{File.ReadAllText(path)}" : $"({path} does not exist)";
}
