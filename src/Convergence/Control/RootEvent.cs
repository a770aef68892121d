namespace Convergence.Control;

/// <summary>What rank 0's clocks decide at a sync, for every rank.</summary>
public enum RootEvent
{
    /// <summary>Nothing is due.</summary>
    None = 0,

    /// <summary>A periodic checkpoint is due.</summary>
    Checkpoint = 1,

    /// <summary>The wall-time deadline is near: stop with a checkpoint.</summary>
    Deadline = 2,

    /// <summary>A timed pause (<c>PAUSE 15m</c>) has run its course: every rank goes on.</summary>
    Resume = 3,
}
