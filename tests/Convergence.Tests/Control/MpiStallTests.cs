using Convergence.Mpi;
using Convergence.Solver;
using Convergence.Tests.Checkpoints;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// The stall watchdog at 3 ranks under MPICH and Open MPI: a rank that hangs in its own code is named on the page
/// and, with <c>--stall-timeout</c>, ends the job FAILED with its rank and host; iterations that are merely slow on
/// every rank are not a stall.
/// </summary>
public abstract class MpiStallTests
{
    private const int Ranks = 3;

    /// <summary>The MPI family whose launcher starts the job.</summary>
    protected abstract MpiFamily Family { get; }

    [Fact]
    public void AStuckRank_IsNamedOnThePageAndEndsTheJobFailedAfterTheStallTimeout()
    {
        var service = Repo.NewTempFolder("stall");
        using var job = Start(service, "--slow-ms", "5", "--fail-at-iteration", "30", "--fail-rank", "1", "--fail-on", "stuck", "--stall-timeout", "10s");

        var page = StatusJsonWait.Until(service, job, s => s.GetProperty("stall").GetString() is not null, "the page names the stuck rank", TimeSpan.FromSeconds(90));
        var host = Environment.MachineName;
        Assert.StartsWith($"rank 1 on host {host} has not finished iteration 30 for ", page.GetProperty("stall").GetString(), StringComparison.Ordinal);

        // Well before the wall time: the job ends itself once rank 1 has been stuck for the timeout.
        Assert.Equal(ExitCodes.Failed, job.WaitForExit(TimeSpan.FromSeconds(60)));
        var result = Notify.ReadResult(service);
        Assert.Equal(("FAILED", "1", host), (result["outcome"], result["failed_rank"], result["failed_host"]));
        Assert.Contains($"rank 1 on host {host} has not finished iteration 30 for ", result["message"], StringComparison.Ordinal);
        Assert.Contains("(--stall-timeout 10s)", result["message"], StringComparison.Ordinal);
    }

    [Fact]
    public void SlowIterationsOnEveryRank_AreNotAStall()
    {
        var service = Repo.NewTempFolder("stall-slow");

        // Every iteration sleeps 3 s on every rank, longer than the stall timeout's notice: nobody waits on anybody for long.
        using var job = Start(service, "--slow-ms", "3000", "--max-iterations", "4", "--stall-timeout", "4s");

        Assert.Equal(ExitCodes.IterationLimit, job.WaitForExit(TimeSpan.FromSeconds(90)));
        Assert.Equal("ITERATION_LIMIT", Notify.ReadResult(service)["outcome"]);
    }

    private RunningProcess Start(string service, params string[] args) =>
        RunningProcess.MpiRun(Family, Ranks, PoissonJob.Dll, ["--service", service, "--n", "48", "--method", "jacobi", "--progress-ms", "100", "--status-ms", "300", .. args]);
}

/// <summary>The stall watchdog under MPICH.</summary>
[Collection(MpiCollection.Name)]
public sealed class MpichStallTests : MpiStallTests
{
    protected override MpiFamily Family => MpiFamily.MpichAbi;
}

/// <summary>The stall watchdog under Open MPI.</summary>
[Collection(MpiCollection.Name)]
public sealed class OpenMpiStallTests : MpiStallTests
{
    protected override MpiFamily Family => MpiFamily.OpenMpi;
}
