namespace Convergence.Control;

/// <summary>The signals one rank caught since the last sync: its votes in the sync header.</summary>
[Flags]
public enum LoopSignals
{
    /// <summary>Nothing caught.</summary>
    None = 0,

    /// <summary>Stop with a checkpoint (SIGTERM, SIGINT by default).</summary>
    Stop = 1,

    /// <summary>Write a checkpoint and go on (SIGUSR1 by default).</summary>
    Checkpoint = 2,

    /// <summary>The allocation ends soon (a scheduler's advance signal mapped to <c>deadline</c>): stop with a checkpoint.</summary>
    Deadline = 4,
}
