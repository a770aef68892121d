using System.Globalization;

namespace Convergence.Checkpoints;

/// <summary>How often a periodic checkpoint is written: every N iterations, or every T of wall time.</summary>
/// <param name="Iterations">Iterations between checkpoints; 0 when the period is a time.</param>
/// <param name="Interval">Wall time between checkpoints; zero when the period is in iterations.</param>
public sealed record CheckpointPeriod(long Iterations, TimeSpan Interval)
{
    /// <summary>Every <paramref name="iterations"/> iterations (counted over the whole run).</summary>
    public static CheckpointPeriod EveryIterations(long iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        return new CheckpointPeriod(iterations, TimeSpan.Zero);
    }

    /// <summary>Every <paramref name="interval"/> of wall time, measured on rank 0.</summary>
    public static CheckpointPeriod EveryInterval(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        return new CheckpointPeriod(0, interval);
    }

    /// <summary>Parses <c>N</c> (iterations) or a time with unit: <c>500ms</c>, <c>30s</c>, <c>15m</c>, <c>2h</c>.</summary>
    /// <exception cref="FormatException">Neither form; the message says what is accepted.</exception>
    public static CheckpointPeriod Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant().Replace("_", string.Empty, StringComparison.Ordinal);
        if (long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1)
        {
            return EveryIterations(n);
        }

        return TryParseDuration(t, out var span) && span > TimeSpan.Zero
            ? EveryInterval(span)
            : throw new FormatException($"'{text}' is neither a number of iterations (e.g. 1000) nor a time with unit (e.g. 500ms, 30s, 15m, 2h)");
    }

    /// <summary>Parses a positive or zero duration with a unit (<c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>).</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var t = text.Trim().ToLowerInvariant();
        (string Unit, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (unit, seconds) in units)
        {
            if (t.EndsWith(unit, StringComparison.Ordinal)
                && double.TryParse(t[..^unit.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                && double.IsFinite(value) && value >= 0 && value * seconds <= TimeSpan.MaxValue.TotalSeconds / 2)
            {
                duration = TimeSpan.FromSeconds(value * seconds);
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public override string ToString() => Iterations > 0
        ? Iterations.ToString(CultureInfo.InvariantCulture)
        : FormattableString.Invariant($"{Interval.TotalSeconds:0.###}s");
}
