using System.Diagnostics;
using Convergence.Signals;

namespace Convergence.Tests.Checkpoints;

public sealed class WallTimeBudgetTests
{
    private static long At(long start, double seconds) => start + (long)(seconds * Stopwatch.Frequency);

    [Fact]
    public void StopsWhenTheNextSyncWouldLeaveTooLittleForACheckpointAndTheMargin()
    {
        var start = Stopwatch.GetTimestamp();
        var budget = new WallTimeBudget(DateTimeOffset.UtcNow.AddSeconds(10), TimeSpan.FromSeconds(1));

        Assert.False(budget.MustStop(0, start, 1));
        Assert.False(budget.MustStop(100, At(start, 1), 10)); // 10 ms per iteration
        budget.CheckpointTook((long)(2.0 * Stopwatch.Frequency), 100, At(start, 3));

        // Needed: 11 iterations (0.11 s) + 1.25 x 2 s checkpoint + 1 s margin = 3.61 s before the 10 s deadline.
        Assert.False(budget.MustStop(400, At(start, 6), 10));
        Assert.True(budget.MustStop(500, At(start, 7), 10));
        Assert.Equal(TimeSpan.FromSeconds(2), budget.CheckpointEstimate);
    }

    [Fact]
    public void ASlowerPhaseCountsAtOnceAndAFasterOneOnlyGradually()
    {
        var start = Stopwatch.GetTimestamp();
        var budget = new WallTimeBudget(DateTimeOffset.UtcNow.AddSeconds(100), TimeSpan.Zero);
        budget.MustStop(0, start, 1);
        budget.MustStop(1000, At(start, 1), 1);
        Assert.Equal(0.001, budget.IterationEstimate.TotalSeconds, 6);

        budget.MustStop(1010, At(start, 2), 1);
        Assert.Equal(0.1, budget.IterationEstimate.TotalSeconds, 6);

        budget.MustStop(2010, At(start, 3), 1);
        Assert.Equal((0.8 * 0.1) + (0.2 * 0.001), budget.IterationEstimate.TotalSeconds, 6);

        // 300 iterations to the next sync at about 80 ms each: 24 s, so at 90 s of 100 it must stop.
        Assert.False(budget.MustStop(2011, At(start, 3.05), 300));
        Assert.True(budget.MustStop(2012, At(start, 90), 300));
    }
}
