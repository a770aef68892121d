using System.Diagnostics;

namespace Convergence.Control;

/// <summary>
/// An event every so many iterations, the distance adapted from the measured iteration rate so that the event
/// comes about every <see cref="TargetTicks"/> of wall time: the loop's syncs (20 ms by default) and rank 0's
/// status records (10 ms) are one instance each, as is the MathNet adapter's status record.
/// </summary>
/// <remarks>
/// The distance grows at most 2× per event, so a sudden slowdown (a restart, a heavier phase) cannot push the
/// next event far past the target; it shrinks at once. Not thread-safe: one loop thread.
/// </remarks>
internal sealed class Cadence
{
    /// <summary>The largest distance: about 16 M iterations.</summary>
    public const long MaxDistance = 1 << 24;

    private long _lastTotal;
    private long _lastTimestamp;

    /// <summary>A cadence aiming at <paramref name="targetTicks"/> (<see cref="Stopwatch"/> ticks) between events.</summary>
    public Cadence(long targetTicks) => TargetTicks = targetTicks;

    /// <summary>The wall time aimed at between events, in <see cref="Stopwatch"/> ticks.</summary>
    public long TargetTicks { get; }

    /// <summary>The current distance in iterations.</summary>
    public long Distance { get; private set; } = 1;

    /// <summary>The timestamp of the last event (or the start).</summary>
    public long LastTimestamp => _lastTimestamp;

    /// <summary>Starts measuring at <paramref name="total"/>, <paramref name="timestamp"/>, with distance 1.</summary>
    public void Start(long total, long timestamp)
    {
        Distance = 1;
        _lastTotal = total;
        _lastTimestamp = timestamp;
    }

    /// <summary>An event at <paramref name="total"/>, <paramref name="now"/>: adapts and returns the distance to the next one.</summary>
    public long Next(long total, long now)
    {
        var iterations = total - _lastTotal;
        var ticks = now - _lastTimestamp;
        if (iterations > 0 && ticks > 0)
        {
            var target = (long)(TargetTicks * (double)iterations / ticks);
            Distance = Math.Clamp(target, 1, Math.Min(Distance * 2, MaxDistance));
        }

        _lastTotal = total;
        _lastTimestamp = now;
        return Distance;
    }

    /// <summary>An event at <paramref name="total"/> with the distance fixed by the caller: only the position is kept.</summary>
    public void Mark(long total, long now)
    {
        _lastTotal = total;
        _lastTimestamp = now;
    }

    /// <summary>Time that was not iteration time (a checkpoint): it does not count in the next rate.</summary>
    public void Exclude(long ticks) => _lastTimestamp += ticks;
}
