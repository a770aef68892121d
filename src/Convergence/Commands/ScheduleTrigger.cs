namespace Convergence.Commands;

/// <summary>When a scheduled <c>STOP</c> or <c>CHECKPOINT</c> fires (see <see cref="ScheduleSpec"/>).</summary>
public enum ScheduleTrigger
{
    /// <summary>At a total iteration (<c>at=5000</c>): every rank acts after exactly that iteration.</summary>
    Iteration = 1,

    /// <summary>At a wall-clock time (<c>at=2026-12-03T19:00Z</c>): at the first sync at or after it.</summary>
    Time = 2,

    /// <summary>A time from when rank 0 takes the command in (<c>at=+30m</c>): at the first sync at or after it.</summary>
    RelativeTime = 3,

    /// <summary>After so many more checkpoints have been written (<c>after-checkpoints=2</c>; <c>STOP</c> only).</summary>
    Checkpoints = 4,
}
