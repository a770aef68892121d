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
}
