using Convergence.MpiHarness;

namespace Convergence.Tests.Benchmarks;

/// <summary>The interval the MPI harness's overhead verdicts rest on.</summary>
public sealed class HarnessStatisticsTests
{
    [Fact]
    public void BinomialTailMatchesTheExactCount()
    {
        // P(B <= 5) for B ~ Bin(10, 1/2) = (1 + 10 + 45 + 120 + 210 + 252) / 1024.
        Assert.Equal(638.0 / 1024, Statistics.BinomialHalfCdf(10, 5), 12);
        Assert.Equal(1.0 / 1024, Statistics.BinomialHalfCdf(10, 0), 12);
        Assert.Equal(1.0, Statistics.BinomialHalfCdf(10, 10), 12);
    }

    [Fact]
    public void FortyOneRepeatsGiveTheFourteenthToTheTwentyEighthRatio()
    {
        // Shuffled on purpose: the interval is over the sorted samples.
        var values = Enumerable.Range(1, 41).Select(i => (double)((i * 17) % 41) + 1).ToList();
        var (low, high, coverage) = Statistics.MedianInterval(values);
        Assert.Equal(14, low);
        Assert.Equal(28, high);

        // 1 - 2 P(B <= 13) for B ~ Bin(41, 1/2).
        Assert.Equal(0.972467, coverage, 5);
    }

    [Fact]
    public void TooFewSamplesGiveTheRangeAndSayItsCoverage()
    {
        var (low, high, coverage) = Statistics.MedianInterval([5.0, 1.0, 3.0, 2.0, 4.0]);
        Assert.Equal(1, low);
        Assert.Equal(5, high);
        Assert.Equal(1 - (2.0 / 32), coverage, 12);
    }

    [Fact]
    public void NoSamplesGiveNoInterval()
    {
        var (low, high, coverage) = Statistics.MedianInterval([]);
        Assert.True(double.IsNaN(low) && double.IsNaN(high));
        Assert.Equal(0, coverage);
    }
}
