namespace Convergence.Status;

/// <summary>What the status page says the job is doing.</summary>
public enum JobState
{
    /// <summary>Set up, no iteration yet.</summary>
    Starting,

    /// <summary>Iterating; no downward residual trend known yet.</summary>
    Running,

    /// <summary>Iterating with a falling residual: an estimate of the time to the tolerance exists.</summary>
    Converging,

    /// <summary>Ended: the residual is below the tolerance.</summary>
    Converged,

    /// <summary>Ended cleanly on request.</summary>
    Stopped,

    /// <summary>Ended on <c>ABORT</c>.</summary>
    Aborted,

    /// <summary>Ended at the iteration limit.</summary>
    IterationLimit,

    /// <summary>Ended: the residual became NaN or infinite.</summary>
    Diverged,

    /// <summary>Ended by a failure.</summary>
    Failed,

    /// <summary>
    /// A chained job between two links: this allocation ended at its deadline with a checkpoint and the next
    /// link waits in the scheduler's queue. Not finished: the controls still send, and the next link applies
    /// what was sent.
    /// </summary>
    WaitingForAllocation,

    /// <summary>Ended: the residual stopped improving.</summary>
    Stagnated,

    /// <summary>Held at an iteration by <c>PAUSE</c> until <c>RESUME</c> (or the pause's end); not finished.</summary>
    Paused,
}
