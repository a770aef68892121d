using System.Diagnostics;

namespace Convergence.Control;

/// <summary>
/// Whether the loop is paused (<c>PAUSE</c>), since when, until when, and how long it has been paused over the
/// run. Every rank keeps one and changes it at the same sync; only rank 0's clock decides a timed resume.
/// </summary>
/// <remarks>The loop's thread only.</remarks>
internal sealed class LoopPause
{
    private long _sinceTimestamp;
    private long _resumeAtTimestamp;
    private long _pausedTicks;

    /// <summary>The loop holds every rank at the current iteration.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>When the current pause began (wall clock); meaningful while paused.</summary>
    public DateTimeOffset Since { get; private set; }

    /// <summary>When the current pause ends by itself; null for "until RESUME".</summary>
    public DateTimeOffset? ResumesAt { get; private set; }

    /// <summary>The time spent paused over the run, the current pause included.</summary>
    public TimeSpan Total => Stopwatch.GetElapsedTime(0, _pausedTicks + (IsPaused ? Stopwatch.GetTimestamp() - _sinceTimestamp : 0));

    /// <summary>Pauses (or, when paused already, sets a new end counted from now; null: until <c>RESUME</c>).</summary>
    public void Begin(TimeSpan? duration)
    {
        var now = Stopwatch.GetTimestamp();
        if (!IsPaused)
        {
            IsPaused = true;
            _sinceTimestamp = now;
            Since = DateTimeOffset.UtcNow;
        }

        _resumeAtTimestamp = duration is { } d ? now + (long)(d.TotalSeconds * Stopwatch.Frequency) : 0;
        ResumesAt = duration is { } after ? DateTimeOffset.UtcNow + after : null;
    }

    /// <summary>Ends the pause; returns its length in <see cref="Stopwatch"/> ticks.</summary>
    public long End()
    {
        var ticks = Stopwatch.GetTimestamp() - _sinceTimestamp;
        _pausedTicks += ticks;
        IsPaused = false;
        ResumesAt = null;
        return ticks;
    }

    /// <summary>Rank 0: a timed pause has run its course.</summary>
    public bool ResumeDue(long timestamp) => IsPaused && _resumeAtTimestamp != 0 && timestamp >= _resumeAtTimestamp;
}
