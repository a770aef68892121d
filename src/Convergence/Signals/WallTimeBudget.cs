using System.Diagnostics;
using System.Globalization;

namespace Convergence.Signals;

/// <summary>
/// Rank 0's wall-time budget: given the allocation's end, it measures the time per iteration and per
/// checkpoint and says when the job must stop (with a checkpoint) so that it ends before the deadline.
/// </summary>
/// <remarks>
/// Rank 0 only, on the loop's thread, at sync boundaries. The decision travels to every rank in the sync
/// header. The estimate is deliberately pessimistic: the slowest recent iteration rate and the slowest
/// checkpoint seen, plus a fixed margin for what follows the last checkpoint (result, page, MPI shutdown).
/// <see cref="MoveDeadline"/> may be called from another thread (rank 0's Slurm watcher, after a time
/// extension); the loop's next <see cref="MustStop"/> uses the new end.
/// </remarks>
public sealed class WallTimeBudget
{
    private long _deadlineTimestamp;
    private long _deadlineUnixMs;
    private readonly long _marginTicks;
    private long _lastTotal = -1;
    private long _lastTimestamp;
    private double _ticksPerIteration;
    private long _checkpointTicks;

    /// <summary>A budget ending at <paramref name="deadline"/>, keeping <paramref name="margin"/> in reserve.</summary>
    public WallTimeBudget(DateTimeOffset deadline, TimeSpan margin)
    {
        Margin = margin;
        MoveDeadline(deadline);
        _marginTicks = (long)(margin.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>The deadline.</summary>
    public DateTimeOffset Deadline => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _deadlineUnixMs));

    /// <summary>
    /// Moves the deadline (a time extension, or a limit shortened by an administrator). Thread-safe: the
    /// loop's next <see cref="MustStop"/> decides with the new end.
    /// </summary>
    public void MoveDeadline(DateTimeOffset deadline)
    {
        var remaining = deadline - DateTimeOffset.UtcNow;
        Interlocked.Exchange(ref _deadlineUnixMs, deadline.ToUnixTimeMilliseconds());
        Interlocked.Exchange(ref _deadlineTimestamp, Stopwatch.GetTimestamp() + (long)(remaining.TotalSeconds * Stopwatch.Frequency));
    }

    /// <summary>Time kept in reserve after the last checkpoint.</summary>
    public TimeSpan Margin { get; }

    /// <summary>The slowest checkpoint measured so far (zero before the first).</summary>
    public TimeSpan CheckpointEstimate => Stopwatch.GetElapsedTime(0, _checkpointTicks);

    /// <summary>The current estimate of one iteration's wall time.</summary>
    public TimeSpan IterationEstimate => TimeSpan.FromSeconds(_ticksPerIteration / Stopwatch.Frequency);

    /// <summary>
    /// Records progress at a sync and says whether the job must stop now: true when waiting for the next
    /// sync, <paramref name="iterationsToNextSync"/> away, would leave too little time for a checkpoint and
    /// the margin before the deadline.
    /// </summary>
    public bool MustStop(long totalIterations, long timestamp, long iterationsToNextSync)
    {
        if (_lastTotal >= 0 && totalIterations > _lastTotal && timestamp > _lastTimestamp)
        {
            var perIteration = (double)(timestamp - _lastTimestamp) / (totalIterations - _lastTotal);

            // Up fast, down slowly: a slower phase counts at once, a faster one only gradually.
            _ticksPerIteration = perIteration > _ticksPerIteration ? perIteration : (0.8 * _ticksPerIteration) + (0.2 * perIteration);
        }

        _lastTotal = totalIterations;
        _lastTimestamp = timestamp;
        var needed = (_ticksPerIteration * (iterationsToNextSync + 1)) + (_checkpointTicks * 1.25) + _marginTicks;
        return timestamp + needed >= Interlocked.Read(ref _deadlineTimestamp);
    }

    /// <summary>Records a checkpoint's duration; the next iteration measurement starts after it.</summary>
    public void CheckpointTook(long ticks, long totalIterations, long timestamp)
    {
        _checkpointTicks = Math.Max(_checkpointTicks, ticks);
        _lastTotal = totalIterations;
        _lastTimestamp = timestamp;
    }

    /// <summary>
    /// Parses a deadline: ISO 8601 (<c>2026-11-25T09:00:00Z</c>; without an offset it is UTC), Unix seconds
    /// (<c>1764061200</c>, as Slurm's <c>SLURM_JOB_END_TIME</c>), or relative to now (<c>+90s</c>, <c>+15m</c>, <c>+2h</c>).
    /// </summary>
    /// <exception cref="FormatException">None of these; the message shows the accepted forms.</exception>
    public static DateTimeOffset ParseDeadline(string text, DateTimeOffset now)
    {
        var t = text.Trim();
        if (t.StartsWith('+') && Checkpoints.CheckpointPeriod.TryParseDuration(t[1..], out var after))
        {
            return now + after;
        }

        if (long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var unix) && unix < 253_402_300_800)
        {
            return DateTimeOffset.FromUnixTimeSeconds(unix);
        }

        return DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) && t.Contains('T', StringComparison.Ordinal)
            ? at
            : throw new FormatException($"deadline '{text}' is not ISO 8601 (2026-11-25T09:00:00Z), Unix seconds (1764061200) or relative (+90s, +15m, +2h)");
    }
}
