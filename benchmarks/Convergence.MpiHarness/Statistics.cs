namespace Convergence.MpiHarness;

/// <summary>Order statistics over a handful of samples.</summary>
internal static class Statistics
{
    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 50);

    /// <summary>Nearest-rank percentile: with 30 samples p99 is the largest, said as such in the output.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double percent)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        if (Math.Abs(percent - 50) < 1e-9 && sorted.Length % 2 == 0)
        {
            return (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }

        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>
    /// A distribution-free interval for the median (the sign test's): the k-th smallest and k-th largest sample,
    /// with k the largest for which the interval still covers the median with at least <paramref name="confidence"/>.
    /// It assumes only that the samples are independent draws, not that they are normal: a shared machine's
    /// timings have long right tails, and a mean ± t·s interval would be dragged by them.
    /// </summary>
    /// <returns>The bounds and the interval's exact coverage; with fewer than six samples no interval reaches 95 %,
    /// and the minimum and maximum are returned with the coverage they have.</returns>
    public static (double Low, double High, double Coverage) MedianInterval(IReadOnlyCollection<double> values, double confidence = 0.95)
    {
        if (values.Count == 0)
        {
            return (double.NaN, double.NaN, 0);
        }

        var sorted = values.Order().ToArray();
        var n = sorted.Length;

        // P(B <= j) for B ~ Binomial(n, 1/2), accumulated in log space so that n in the hundreds stays exact enough.
        var k = 1;
        var coverage = 1 - (2 * BinomialHalfCdf(n, 0));
        for (var candidate = 2; candidate <= n / 2; candidate++)
        {
            var c = 1 - (2 * BinomialHalfCdf(n, candidate - 1));
            if (c < confidence)
            {
                break;
            }

            k = candidate;
            coverage = c;
        }

        return (sorted[k - 1], sorted[n - k], coverage);
    }

    /// <summary>P(B &lt;= j) for B ~ Binomial(n, 1/2).</summary>
    internal static double BinomialHalfCdf(int n, int j)
    {
        var logHalfPowN = n * Math.Log(0.5);
        double sum = 0;
        double logChoose = 0; // log C(n, 0)
        for (var i = 0; i <= j; i++)
        {
            if (i > 0)
            {
                logChoose += Math.Log(n - i + 1) - Math.Log(i);
            }

            sum += Math.Exp(logChoose + logHalfPowN);
        }

        return Math.Min(1, sum);
    }
}
