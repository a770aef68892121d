using System.Globalization;

namespace Convergence.Options;

/// <summary>When the ranks exchange control data (see docs/ARCHITECTURE.md, "Cadence").</summary>
public enum SyncMode
{
    /// <summary>Rank 0 names the next sync iteration in each packet, aiming at a wall-time interval.</summary>
    Adaptive,

    /// <summary>Every K iterations, fixed.</summary>
    EveryK,

    /// <summary>
    /// Events ride in every iteration's residual reduction as its sign (no extra doubles): a waiting
    /// command or signal is acted on at the next iteration; housekeeping syncs (status, periodic
    /// checkpoints, deadline) follow the adaptive cadence.
    /// </summary>
    PiggyBack,
}

/// <summary>A validated sync cadence.</summary>
/// <param name="Mode">The strategy.</param>
/// <param name="Interval">The wall-time target between syncs (adaptive).</param>
/// <param name="K">The fixed distance in iterations (every-K).</param>
public sealed record SyncPolicy(SyncMode Mode, TimeSpan Interval, long K)
{
    /// <summary>The default: adaptive, a sync about every 20 ms of wall time.</summary>
    public static SyncPolicy Default { get; } = Adaptive(TimeSpan.FromMilliseconds(20));

    /// <summary>Adaptive cadence targeting <paramref name="interval"/> between syncs.</summary>
    public static SyncPolicy Adaptive(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        return new SyncPolicy(SyncMode.Adaptive, interval, 0);
    }

    /// <summary>A sync every <paramref name="k"/> iterations.</summary>
    public static SyncPolicy Every(long k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return new SyncPolicy(SyncMode.EveryK, TimeSpan.Zero, k);
    }

    /// <summary>Events flagged in every residual reduction; housekeeping syncs about every 20 ms.</summary>
    public static SyncPolicy PiggyBack { get; } = new(SyncMode.PiggyBack, Default.Interval, 1);

    /// <summary>Parses <c>adaptive</c>, <c>adaptive:MS</c>, <c>every:K</c> or <c>piggyback</c>.</summary>
    /// <exception cref="FormatException">The text is none of these; the message says what is accepted.</exception>
    public static SyncPolicy Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        var colon = t.IndexOf(':', StringComparison.Ordinal);
        var head = colon < 0 ? t : t[..colon];
        var tail = colon < 0 ? null : t[(colon + 1)..];
        switch (head)
        {
            case "adaptive" when tail is null:
                return Default;
            case "adaptive" when double.TryParse(tail, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms > 0 && ms <= 60_000:
                return Adaptive(TimeSpan.FromMilliseconds(ms));
            case "every" when long.TryParse(tail, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k >= 1:
                return Every(k);
            case "piggyback" when tail is null:
                return PiggyBack;
            default:
                throw new FormatException(
                    $"sync policy '{text}' is not one of: adaptive, adaptive:<ms between syncs, 0-60000>, every:<iterations >= 1>, piggyback");
        }
    }

    /// <inheritdoc />
    public override string ToString() => Mode switch
    {
        SyncMode.Adaptive => FormattableString.Invariant($"adaptive:{Interval.TotalMilliseconds:0.###}"),
        SyncMode.EveryK => FormattableString.Invariant($"every:{K}"),
        _ => "piggyback",
    };
}
