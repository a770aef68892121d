using System.Text.RegularExpressions;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Criteria;

/// <summary>
/// <c>--stagnation</c> under <c>mpirun</c> (MPICH): the Poisson example on a tiny grid asked for a tolerance
/// far below its rounding floor (about 1e-14) must end <c>STAGNATED</c> on every rank at the same iteration:
/// each rank decides from its own copy of the reduced residual, between syncs, with no collective to agree.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed partial class MpiStagnationTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Theory]
    [InlineData(2, "adaptive")]
    [InlineData(2, "every:1")]
    [InlineData(3, "piggyback")]
    [InlineData(3, "every:5")]
    public void BelowTheFloor_EveryRankEndsStagnatedAtTheSameIteration(int ranks, string sync)
    {
        var service = Repo.NewTempFolder("stagnation");
        using var job = RunningProcess.MpiRun(ranks, Poisson, ["--service", service, "--n", "16", "--tolerance", "1e-30", "--stagnation", "50:0.01", "--sync", sync]);

        // Well under a second when the machine is quiet; the patience is for a loaded one, a hang still fails.
        Assert.Equal(6, job.WaitForExit(TimeSpan.FromSeconds(120)));
        var ends = EndLine().Matches(job.Stdout).Select(m => (Outcome: m.Groups[1].Value, Iteration: m.Groups[2].Value, Total: m.Groups[3].Value)).ToList();
        Assert.True(ends.Count == ranks, $"expected {ranks} end lines\n{job.Output}");
        Assert.True(ends.Distinct().Count() == 1, $"ranks ended differently: {string.Join(", ", ends)}\n{job.Output}");
        Assert.Equal("STAGNATED", ends[0].Outcome);
        Assert.True(long.Parse(ends[0].Iteration, System.Globalization.CultureInfo.InvariantCulture) > 50, job.Output);

        var result = Notify.ReadResult(service);
        Assert.Equal("STAGNATED", result["outcome"]);
        Assert.Equal("6", result["exit_code"]);
        Assert.Equal(ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), result["ranks"]);
        Assert.Equal(ends[0].Iteration, result["iteration"]);
        Assert.StartsWith("not converging at this rate: ", result["message"], StringComparison.Ordinal);
        Assert.Contains("\"state\": \"Stagnated\"", File.ReadAllText(Path.Combine(service, "status.json")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void InWarnMode_TheRunGoesOn_AndTheLogSaysNotConvergingInsteadOfAnEstimate()
    {
        var service = Repo.NewTempFolder("stagnation-warn");
        using var job = RunningProcess.MpiRun(2, Poisson, [
            "--service", service, "--n", "16", "--tolerance", "1e-30", "--stagnation", "50:0.01:warn",
            "--max-iterations", "400", "--slow-ms", "5", "--status-ms", "100", "--progress-ms", "200"]);

        Assert.Equal(4, job.WaitForExit(TimeSpan.FromSeconds(120)));
        Assert.Equal("ITERATION_LIMIT", Notify.ReadResult(service)["outcome"]);
        Assert.Contains("warning: not converging at this rate: ", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("eta=not-converging", job.Stdout, StringComparison.Ordinal);
    }

    [GeneratedRegex(@" end outcome=(\w+) iteration=(\d+) total=(\d+)")]
    private static partial Regex EndLine();
}
