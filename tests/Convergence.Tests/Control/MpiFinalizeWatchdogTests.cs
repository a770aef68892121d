using Convergence.Mpi;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Control;

/// <summary>
/// A finished job always exits: an <c>MPI_Finalize</c> that never returns (here on purpose, through the test
/// hook) is cut short by the watchdog once the result is written, with the job's own exit code.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class MpiFinalizeWatchdogTests(ITestOutputHelper output)
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Theory]
    [InlineData(MpiFamily.MpichAbi, 2, "all")]
    [InlineData(MpiFamily.MpichAbi, 3, "2")]
    [InlineData(MpiFamily.OpenMpi, 2, "all")]
    [InlineData(MpiFamily.OpenMpi, 3, "0")]
    public void AFinalizeThatHangs_EndsTheRankAfterTheBound_WithTheResultWritten(MpiFamily mpi, int ranks, string stalledRanks)
    {
        var service = Repo.NewTempFolder("finalize-hang");
        using var job = RunningProcess.MpiRun(mpi, ranks, Poisson, ["--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-2"],
            new Dictionary<string, string?>
            {
                [FinalizeWatchdog.StallVariable] = stalledRanks,
                [FinalizeWatchdog.TimeoutVariable] = "2",
            });

        var exit = job.WaitForExit(TimeSpan.FromSeconds(120));
        output.WriteLine(job.Output);

        Assert.True(job.HasExited, "the launcher did not return: the finalize watchdog did not end the stalled rank(s)");
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("0", result["exit_code"]);
        // A rank whose finalize hangs holds the others in theirs too (finalize is collective in practice), and
        // the launcher may kill the rest once the first rank has left: at least one rank says why it left.
        Assert.Contains("convergence: MPI_Finalize did not return within 2 s on rank ", job.Stderr, StringComparison.Ordinal);
        if (mpi == MpiFamily.MpichAbi)
        {
            // Hydra passes the ranks' code on, unless its clean-up after the first rank left killed another rank
            // whose own watchdog had not fired yet (all fire within milliseconds; on a loaded machine hydra can be
            // first): then it reports that kill. Nothing else may end the launcher.
            Assert.True(exit == 0 || (exit == 9 && job.Output.Contains("Killed (signal 9)", StringComparison.Ordinal)), $"launcher exit code {exit}");
        }
    }

    [Fact]
    public void WithTheWatchdogOff_TheSameHangingFinalizeHoldsTheJob()
    {
        // The control for the test above: the hook really hangs, so without the watchdog the launcher never returns.
        var service = Repo.NewTempFolder("finalize-off");
        using var job = RunningProcess.MpiRun(MpiFamily.MpichAbi, 2, Poisson, ["--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-2"],
            new Dictionary<string, string?>
            {
                [FinalizeWatchdog.StallVariable] = "all",
                [FinalizeWatchdog.TimeoutVariable] = "off",
            });

        job.WaitForOutput("end outcome=CONVERGED", TimeSpan.FromSeconds(120));
        Thread.Sleep(TimeSpan.FromSeconds(10));

        Assert.False(job.HasExited, job.Output);
        Assert.Equal("CONVERGED", Notify.ReadResult(service)["outcome"]);
        job.Kill();
    }

    [Fact]
    public void ABadFinalizeTimeout_IsRefusedWithExitCode2AndOneLine()
    {
        var service = Repo.NewTempFolder("finalize-bad");
        using var job = RunningProcess.MpiRun(MpiFamily.MpichAbi, 2, Poisson, ["--service", service, "--n", "16"],
            new Dictionary<string, string?> { [FinalizeWatchdog.TimeoutVariable] = "soon" });

        Assert.Equal(2, job.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("convergence: CONVERGENCE_FINALIZE_TIMEOUT='soon' is not a number of seconds", job.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(service, "result.txt")), job.Output);
    }
}
