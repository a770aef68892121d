namespace Convergence.Status;

/// <summary>Estimates when the residual will reach the tolerance from its recent trend.</summary>
public static class ConvergenceEstimate
{
    /// <summary>
    /// Fits log10(residual) against wall time over the recent points since the last restart (least squares)
    /// and extrapolates to the tolerance. Null when there are too few points or the residual is not falling.
    /// </summary>
    public static TimeSpan? TimeToTolerance(IReadOnlyList<ResidualPoint> history, double tolerance, int window = 32)
    {
        var end = history.Count;
        var start = end;
        while (start > 0 && end - start < window)
        {
            start--;
            if (history[start].Restart)
            {
                break;
            }
        }

        double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (var i = start; i < end; i++)
        {
            var p = history[i];
            if (!(p.Residual > 0) || !double.IsFinite(p.Residual))
            {
                continue;
            }

            var y = Math.Log10(p.Residual);
            n++;
            sx += p.Seconds;
            sy += y;
            sxx += p.Seconds * p.Seconds;
            sxy += p.Seconds * y;
        }

        var denominator = (n * sxx) - (sx * sx);
        if (n < 3 || denominator <= 1e-12)
        {
            return null;
        }

        var slope = ((n * sxy) - (sx * sy)) / denominator;
        if (slope >= 0)
        {
            return null;
        }

        var last = history[end - 1];
        var remaining = (Math.Log10(tolerance) - Math.Log10(last.Residual)) / slope;
        if (!double.IsFinite(remaining) || remaining > TimeSpan.FromDays(365).TotalSeconds)
        {
            return null;
        }

        return TimeSpan.FromSeconds(Math.Max(0, remaining));
    }
}
