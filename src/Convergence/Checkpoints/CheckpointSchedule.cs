using System.Diagnostics;

namespace Convergence.Checkpoints;

/// <summary>
/// Rank 0's clock for periodic checkpoints. Rank 0 decides and the decision travels in the sync header, so
/// the ranks never compare their own clocks.
/// </summary>
/// <remarks>Used by the control loop's thread on rank 0 only, at sync boundaries.</remarks>
public sealed class CheckpointSchedule
{
    private readonly CheckpointPeriod _period;
    private long _lastTotal;
    private long _lastTimestamp;

    /// <summary>Starts the period at <paramref name="totalIterations"/>, now.</summary>
    public CheckpointSchedule(CheckpointPeriod period, long totalIterations)
    {
        _period = period;
        Reset(totalIterations);
    }

    /// <summary>True when a periodic checkpoint is due at this sync.</summary>
    public bool IsDue(long totalIterations, long timestamp) => _period.Iterations > 0
        ? totalIterations - _lastTotal >= _period.Iterations
        : Stopwatch.GetElapsedTime(_lastTimestamp, timestamp) >= _period.Interval;

    /// <summary>
    /// Iterations until the next iteration-based checkpoint, so rank 0 can place a sync exactly there;
    /// <see cref="long.MaxValue"/> for a time-based period (the adaptive cadence already samples the clock).
    /// </summary>
    public long IterationsUntilDue(long totalIterations) => _period.Iterations > 0
        ? Math.Max(1, _lastTotal + _period.Iterations - totalIterations)
        : long.MaxValue;

    /// <summary>Any checkpoint (periodic or not) starts the period again.</summary>
    public void Reset(long totalIterations)
    {
        _lastTotal = totalIterations;
        _lastTimestamp = Stopwatch.GetTimestamp();
    }
}
