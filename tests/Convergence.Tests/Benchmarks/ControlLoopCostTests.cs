using Convergence.Commands;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Options;
using Convergence.Solver;
using Convergence.Status;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Benchmarks;

/// <summary>
/// The allocation half of "control costs nothing in the hot loop", which is exact and so can be a test:
/// a longer run allocates no more than a short one, with or without a sync at every boundary.
/// </summary>
public sealed class ControlLoopCostTests
{
    [Theory]
    [InlineData("every:1000000000")]
    [InlineData("piggyback")]
    [InlineData("every:7")]
    [InlineData("adaptive")]
    public void ALongRunAllocatesNoMoreThanAShortOne(string sync)
    {
        using var rankZero = new RankZero();
        var policy = SyncPolicy.Parse(sync);

        // Warm up once so that first-call costs (JIT, statics) are not counted in either run.
        Allocated(rankZero, policy, 1_000);
        var shortRun = Allocated(rankZero, policy, 1_000);
        var longRun = Allocated(rankZero, policy, 200_000);

        // 199,000 more boundaries: any per-boundary allocation would add at least 199,000 × 24 bytes.
        Assert.True(longRun - shortRun < 1024, $"{sync}: {shortRun} B for 1,000 iterations, {longRun} B for 200,000");
    }

    [Theory]
    [InlineData("every:1000000000")]
    [InlineData("piggyback")]
    [InlineData("every:7")]
    public void WithConvergenceTestsConfigured_ALongRunAllocatesNoMoreThanAShortOne(string sync)
    {
        // Divergence and a warning stagnation test (the flat residual raises its warning once, in both runs).
        using var rankZero = new RankZero();
        var policy = SyncPolicy.Parse(sync);
        Func<RunOptions, RunOptions> tests = o => o with { DivergenceFactor = 10, Stagnation = new Convergence.Criteria.StagnationRule(100, 0.01, true) };

        Allocated(rankZero, policy, 1_000, tests);
        var shortRun = Allocated(rankZero, policy, 1_000, tests);
        var longRun = Allocated(rankZero, policy, 200_000, tests);

        Assert.True(longRun - shortRun < 1024, $"{sync}: {shortRun} B for 1,000 iterations, {longRun} B for 200,000");
        Assert.NotNull(rankZero.Services.Live.Warning);
    }

    [Fact]
    public void ASyncAtEveryIterationStillHandsProgressToTheStatusPage()
    {
        using var rankZero = new RankZero();
        var options = new RunOptions { Tolerance = 1e-12, MaxIterations = 50_000, Sync = SyncPolicy.Every(1) };

        var result = new ControlLoop(new CountingSolver(), new SingleProcessCoordinator(), options, rankZero.Services).Run();

        Assert.Equal(RunOutcome.IterationLimit, result.Outcome);
        var snapshot = rankZero.Services.Live.Snapshot(0);
        Assert.True(snapshot.TotalIterations > 0, "no progress was recorded");
        Assert.NotEmpty(snapshot.History);
    }

    private static long Allocated(RankZero rankZero, SyncPolicy policy, long iterations, Func<RunOptions, RunOptions>? configure = null)
    {
        var options = new RunOptions { Tolerance = 1e-12, MaxIterations = iterations, Sync = policy };
        options = configure?.Invoke(options) ?? options;
        var loop = new ControlLoop(new CountingSolver(), new SingleProcessCoordinator(), options, rankZero.Services);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = loop.Run();
        var after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(iterations, result.TotalIterations);
        return after - before;
    }

    /// <summary>Rank 0's real services, with a watcher thread on an empty notifications file.</summary>
    private sealed class RankZero : IDisposable
    {
        private readonly string _folder = Repo.NewTempFolder("loop-cost");
        private readonly CommandIntake _intake;

        public RankZero()
        {
            var journal = new CommandJournal();
            _intake = new CommandIntake(new NotificationTail(Path.Combine(_folder, "notifications.txt")), new CommandParser(), journal, TimeSpan.FromMilliseconds(250), false, _ => { });
            Services = new RankZeroServices(_intake, journal, new LiveStatus("cost", "counting", 1, 1e-12, [], journal));
        }

        public RankZeroServices Services { get; }

        public void Dispose()
        {
            _intake.Dispose();
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>A residual that stays at 1: never converges, never diverges.</summary>
    private sealed class CountingSolver : IIterativeSolver
    {
        public string Name => "counting";

        public void Initialize(SolverContext context)
        {
        }

        public double Iterate() => 1.0;

        public void Finish(RunResult result)
        {
        }
    }
}
