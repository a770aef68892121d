using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>The control contract under <c>mpirun -np 2</c> with MPICH, plus what only MPI can show.</summary>
[Collection(MpiCollection.Name)]
public sealed class MpiControlSemanticsTests : ControlSemanticsContract
{
    protected override int Ranks => 2;

    protected override RunningProcess StartJob(string service, params string[] args) =>
        RunningProcess.MpiRun(2, Poisson, ["--service", service, .. args]);

    [Fact]
    public void ExceptionOnRank1_EndsTheWholeJobWithinSecondsAndWritesFailed()
    {
        var service = Repo.NewTempFolder("fail");
        // A long page interval: rank 0's reporter writes at start only, so the failed page seen at the end is
        // the one rank 0 wrote when rank 1 handed its failure over.
        using var job = StartJob(service, "--n", "48", "--method", "jacobi", "--slow-ms", "1", "--fail-at-iteration", "40", "--fail-rank", "1", "--status-ms", "600000");

        // Generous for a loaded machine; a hang would hit it, a prompt abort takes well under a second.
        var exit = job.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, exit);
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("1", result["failed_rank"]);
        Assert.Contains("injected failure at iteration 40 on rank 1", result["message"], StringComparison.Ordinal);
        Assert.Contains("rank 1 failed", job.Stderr, StringComparison.Ordinal);
        var page = new AngleSharp.Html.Parser.HtmlParser().ParseDocument(File.ReadAllText(Path.Combine(service, "status.html")));
        Assert.Contains("injected failure at iteration 40 on rank 1", page.Body!.TextContent, StringComparison.Ordinal);
        Assert.Contains("\"state\": \"failed\"", File.ReadAllText(Path.Combine(service, "status.json")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ExceptionOnRank0_EndsTheWholeJobAndWritesFailed()
    {
        var service = Repo.NewTempFolder("fail0");
        using var job = StartJob(service, "--n", "48", "--method", "jacobi", "--slow-ms", "1", "--fail-at-iteration", "40", "--fail-rank", "0");

        Assert.NotEqual(0, job.WaitForExit(TimeSpan.FromSeconds(30)));
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("0", result["failed_rank"]);
    }

    [Fact]
    public void BadOption_IsOneLineOnStderrAndExitCode2OnEveryRank()
    {
        var service = Repo.NewTempFolder("usage");
        using var job = StartJob(service, "--tolerance", "-3");
        Assert.Equal(2, job.WaitForExit(TimeSpan.FromSeconds(30)));
        var lines = job.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("convergence: --tolerance must be a positive finite number (e.g. 1e-8), got -3 (see --help)", Assert.Single(lines));
    }

    [Theory]
    [InlineData("--methd", "jacobi", "convergence: unknown option '--methd' (did you mean --method?)")]
    [InlineData("--tolerence", "1e-8", "convergence: unknown option '--tolerence' (did you mean --tolerance?)")]
    [InlineData("--resum", "on", "convergence: unknown option '--resum' (did you mean --resume?)")]
    [InlineData("--frobnicate", "3", "convergence: unknown option '--frobnicate' (see --help)")]
    public void UnknownOption_IsOneLineThatSuggestsTheNearestSolverOrFrameworkOption(string option, string value, string expected)
    {
        var service = Repo.NewTempFolder("unknown-option");
        using var job = StartJob(service, option, value);
        Assert.Equal(2, job.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(expected, Assert.Single(job.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void RanksWithDifferentEnvironments_AreRefusedBeforeTheFirstIteration()
    {
        var service = Repo.NewTempFolder("env");
        using var job = RunningProcess.Start("mpirun.mpich", [
            "-np", "1", "-env", "CONVERGENCE_TOLERANCE", "1e-3", "dotnet", Poisson, "--service", service, ":",
            "-np", "1", "-env", "CONVERGENCE_TOLERANCE", "1e-4", "dotnet", Poisson, "--service", service]);
        Assert.Equal(2, job.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.StartsWith("convergence: the ranks resolved different options", job.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(service, "result.txt")));
    }
}

/// <summary>The same contract with piggy-back cadence: events travel as the sign of the residual reduction.</summary>
[Collection(MpiCollection.Name)]
public sealed class MpiPiggyBackControlSemanticsTests : ControlSemanticsContract
{
    protected override int Ranks => 2;

    protected override RunningProcess StartJob(string service, params string[] args) =>
        RunningProcess.MpiRun(2, Poisson, ["--service", service, "--sync", "piggyback", .. args]);
}
