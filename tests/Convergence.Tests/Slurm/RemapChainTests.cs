using System.Globalization;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Slurm;

/// <summary>
/// A chain of Slurm jobs whose next link lands on a smaller allocation (issue 22): link 1 runs on 2 ranks
/// until its time limit, the later links get 1 rank (<c>CONVERGENCE_CHAIN_SBATCH_OPTIONS=--ntasks=1</c>) and
/// resume the Poisson example's declared field, and the run ends as an uninterrupted one-rank run does.
/// </summary>
/// <remarks>The local Slurm has the machine's 2 CPUs, so the chain shrinks rather than grows.</remarks>
[Collection(MpiCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RemapChainTests(ITestOutputHelper output)
{
    private const int SyncEvery = 10;
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(5);

    private static string Poisson => Repo.Output("examples/Poisson", "Poisson");

    [Fact]
    public void AChainWhoseNextLinkGetsFewerRanks_ContinuesAndEndsAsAnUninterruptedRunOnTheNewCount()
    {
        LocalSlurm.EnsureRunning();
        string[] problem = ["--n", "16", "--method", "jacobi", "--tolerance", "1e-6", "--sync", $"every:{SyncEvery}"];
        var referenceService = Path.Combine(Repo.NewTempFolder("slurm-remap-ref"), "service");
        using (var p = RunningProcess.Start("mpirun.mpich", new[] { "-np", "1", "dotnet", Poisson, "--service", referenceService }.Concat(problem)))
        {
            Assert.True(p.WaitForExit(JobTimeout) == 0, p.Output);
        }

        var reference = Notify.ReadResult(referenceService);
        Assert.Equal("CONVERGED", reference["outcome"]);

        var folder = Repo.NewTempFolder("slurm-remap-chain");
        var log = Path.Combine(folder, "chain.log");
        var service = Path.Combine(folder, "service");
        var name = $"remap-{Guid.NewGuid():N}"[..14];

        // 30 ms per iteration and 40 s kept in reserve of a one-minute limit: link 1 cannot converge.
        var first = LocalSlurm.Submit(
            new[] { "-n", "2", "--time=1", $"--job-name={name}", "-o", log, LocalSlurm.BareMetalScript }.Concat(problem).Concat(["--slow-ms", "30"]),
            new Dictionary<string, string?>
            {
                ["CONVERGENCE_RUN_DIR"] = folder,
                ["CONVERGENCE_CHAIN"] = "6",
                ["CONVERGENCE_DEADLINE_MARGIN"] = "40s",
                ["CONVERGENCE_CHAIN_SBATCH_OPTIONS"] = "--ntasks=1",
            },
            folder);
        try
        {
            ServiceFiles.WaitUntil(
                () => Notify.ReadResult(service).GetValueOrDefault("outcome") is "CONVERGED" or "FAILED" || Notify.ReadResult(service).GetValueOrDefault("chain") == "end",
                TimeSpan.FromMinutes(12),
                () => LocalSlurm.Describe(log));
            LocalSlurm.WaitForEnd(first, JobTimeout, () => LocalSlurm.Describe(log));
        }
        finally
        {
            LocalSlurm.CancelQuietly($"--name={name}");
        }

        var text = File.ReadAllText(log);
        var result = Notify.ReadResult(service);
        output.WriteLine($"chain of {result.GetValueOrDefault("chain_link")} links; reference {reference["total_iterations"]} iterations, max_error {reference["max_error"]}; chain {result.GetValueOrDefault("total_iterations")}, {result.GetValueOrDefault("max_error")}");
        Assert.True(result.GetValueOrDefault("outcome") == "CONVERGED", text);
        Assert.True(int.Parse(result["chain_link"], CultureInfo.InvariantCulture) >= 2, text);
        Assert.Equal("1", result["ranks"]);
        Assert.Contains("link 1 of at most 6 (chain ", text, StringComparison.Ordinal);
        Assert.Contains(", 2 ranks via ", text, StringComparison.Ordinal);
        Assert.Contains(", 1 ranks via ", text, StringComparison.Ordinal);
        Assert.Contains("resumed from ckpt-", text, StringComparison.Ordinal);
        var expectedError = double.Parse(reference["max_error"], CultureInfo.InvariantCulture);
        var actualError = double.Parse(result["max_error"], CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(actualError - expectedError) <= 1e-12 * Math.Abs(expectedError), $"max_error {actualError:R}, uninterrupted {expectedError:R}\n{text}");
        var iterations = long.Parse(result["total_iterations"], CultureInfo.InvariantCulture) - long.Parse(reference["total_iterations"], CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(iterations) <= SyncEvery, $"{result["total_iterations"]} iterations, uninterrupted {reference["total_iterations"]}\n{text}");
    }
}
