using System.Globalization;
using Convergence.Journal;
using Convergence.Mpi;
using Convergence.Solver;
using Convergence.Testing;
using Convergence.Tests.Infrastructure;
using Xunit.Sdk;

namespace Convergence.Tests.Testing;

/// <summary>
/// The test kit's multi-rank harness under real <c>mpirun.mpich</c> and <c>mpirun.openmpi</c>: a halo-exchange
/// solver with a script gives the answer of one process at 1, 3 and 4 ranks; a broken halo exchange is caught;
/// a failing rank and a hanging rank end the call with a clear error instead of a hang.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class MpiHarnessTests
{
    // A checkpoint, the solver's own command, a roll-back (to iteration 10: the run ends at iteration 20, total 40)
    // and a stop: each must land at its iteration on every rank.
    private static readonly (long, string)[] Script = [(10, "CHECKPOINT"), (20, "HEAT 2"), (30, "RESTART checkpoint"), (40, "STOP")];

    private static readonly string[] Arguments = ["--tolerance", "1e-14"];

    [Theory]
    [InlineData(MpiFamily.MpichAbi, 1)]
    [InlineData(MpiFamily.MpichAbi, 3)]
    [InlineData(MpiFamily.MpichAbi, 4)]
    [InlineData(MpiFamily.OpenMpi, 1)]
    [InlineData(MpiFamily.OpenMpi, 3)]
    [InlineData(MpiFamily.OpenMpi, 4)]
    public async Task AHaloExchangeSolverWithAScript_GivesTheOneProcessAnswer_OnEveryRankCount(MpiFamily family, int ranks)
    {
        var reference = InProcess();

        var run = await global::Convergence.Testing.MpiHarness.RunAsync<HaloRod.Correct>(ranks, family, Script, Arguments);

        Assert.Equal(ranks, run.Ranks.Count);
        Assert.All(run.Ranks, r => Assert.Equal((RunOutcome.Stopped, 40L, 20L, 1), (r.Result.Outcome, r.Result.TotalIterations, r.Result.Iteration, r.Result.Restarts)));
        Assert.Equal([10L, 20, 30, 40], run.Journal.Select(e => e.AppliedTotalIteration ?? -1));
        Assert.All(run.Journal, e => Assert.Equal(JournalState.Applied, e.State));
        Assert.All(run.Ranks.Skip(1), r => Assert.Empty(r.Journal));
        AssertSameAnswer(reference, run);

        // Every rank saw the same reduced residuals and the same reduced sum.
        Assert.All(run.Ranks, r => Assert.Equal(run.Residuals, r.Residuals));
        Assert.All(run.Ranks, r => Assert.Equal(run.Ranks[0].Field("sum"), r.Field("sum")));
        Assert.Contains("outcome=STOPPED", File.ReadAllText(Path.Combine(run.ServiceDirectory, "result.txt")), StringComparison.Ordinal);
        if (ranks > 1)
        {
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"[rank {ranks - 1}] "), run.Ranks[^1].Log, StringComparison.Ordinal);
            Assert.Contains("command applied seq=2 id=- iteration=20 total=20", run.Ranks[^1].Log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ABrokenHaloExchangeIsCaught_TheAnswerOnThreeRanksDiffersFromOneProcess()
    {
        // Without an exchange the rod is still right in one process (no neighbours to talk to) ...
        var reference = InProcess();
        AssertSameAnswer(reference, InProcess(new HaloRod(0, 1, fault: HaloRod.Fault.SkippedHalo)));

        // ... and wrong on three ranks, which is what a multi-rank test is for.
        var broken = await global::Convergence.Testing.MpiHarness.RunAsync<HaloRod.SkippedHalo>(3, MpiFamily.MpichAbi, Script, Arguments);

        Assert.Equal(RunOutcome.Stopped, broken.Result.Outcome);
        Assert.ThrowsAny<XunitException>(() => AssertSameAnswer(reference, broken));
    }

    [Theory]
    [InlineData(MpiFamily.MpichAbi)]
    [InlineData(MpiFamily.OpenMpi)]
    public async Task AFailingRankEndsTheCallWithItsError(MpiFamily family)
    {
        var error = await Assert.ThrowsAsync<MpiHarnessException>(() => global::Convergence.Testing.MpiHarness.RunAsync<HaloRod.RankOneThrows>(3, family, Script, Arguments));

        Assert.NotEqual(0, error.ExitCode);
        Assert.Contains("the 3-rank", error.Message, StringComparison.Ordinal);
        Assert.Contains("rank 1 failed: System.InvalidOperationException: the rod broke on rank 1 at sweep 5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHangingRankIsKilledAtTheTimeout_LauncherAndRanksAlike()
    {
        var pids = Repo.NewTempFolder("harness-pids");

        // The bound is the thing under test; it leaves the two ranks ample time to start on a loaded machine.
        var error = await Assert.ThrowsAsync<TimeoutException>(() => global::Convergence.Testing.MpiHarness.RunAsync<HaloRod.RankOneHangs>(2, MpiFamily.MpichAbi, arguments: [pids], timeout: TimeSpan.FromSeconds(30)));

        Assert.Contains("did not end within 30 s and was killed", error.Message, StringComparison.Ordinal);
        var started = Directory.GetFiles(pids, "rank-*.pid").Select(f => int.Parse(File.ReadAllText(f), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(2, started.Count);
        Assert.All(started, pid => Assert.True(ProcessTree.IsGone(pid), $"rank process {pid} outlived the killed job"));
    }

    [Fact]
    public void AMissingLauncherIsSaidWithWhatToInstall()
    {
        var empty = Repo.NewTempFolder("no-mpi");

        Assert.Null(MpiLaunch.FindLauncher(MpiFamily.MpichAbi, empty));
        Assert.Equal("mpirun.mpich is not on PATH: install MPICH (Debian: apt-get install mpich) to run multi-rank tests under it", MpiLaunch.NotInstalled(MpiFamily.MpichAbi));
        Assert.Contains("apt-get install openmpi-bin", MpiLaunch.NotInstalled(MpiFamily.OpenMpi), StringComparison.Ordinal);
        Assert.NotNull(MpiLaunch.FindLauncher(MpiFamily.MpichAbi));
        Assert.NotNull(MpiLaunch.FindLauncher(MpiFamily.OpenMpi));
    }

    private static HarnessRun InProcess(HaloRod? rod = null) =>
        SolverHarness.Run(rod ?? new HaloRod(0, 1), Script, TestRunOptions.Create() with { Tolerance = 1e-14 });

    private static void AssertSameAnswer(HarnessRun reference, HarnessRun run) =>
        AssertSameAnswer(reference.Residuals, run.Residuals, run.Result);

    private static void AssertSameAnswer(HarnessRun reference, MpiHarnessRun run)
    {
        AssertSameAnswer(reference.Residuals, run.Residuals, run.Result);
        var expected = double.Parse(SumOf(reference.ServiceDirectory), CultureInfo.InvariantCulture);
        Assert.Equal(expected, double.Parse(run.Ranks[0].Field("sum"), CultureInfo.InvariantCulture), 1e-12 * Math.Abs(expected));
    }

    // The same residual after every iteration, up to the order of the ranks' sums.
    private static void AssertSameAnswer(IReadOnlyList<(long, double)> expected, IReadOnlyList<(long, double)> actual, RunResult result)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Item1, actual[i].Item1);
            var (e, a) = (expected[i].Item2, actual[i].Item2);
            Assert.True(Math.Abs(e - a) <= 1e-12 * Math.Abs(e), string.Create(CultureInfo.InvariantCulture, $"iteration {expected[i].Item1}: residual {a:R}, one process gives {e:R} ({result.Outcome})"));
        }
    }

    private static string SumOf(string serviceDirectory) =>
        File.ReadAllLines(Path.Combine(serviceDirectory, "result.txt")).Single(l => l.StartsWith("sum=", StringComparison.Ordinal))["sum=".Length..];
}
