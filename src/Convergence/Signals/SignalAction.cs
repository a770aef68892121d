namespace Convergence.Signals;

/// <summary>What a POSIX signal asks the job to do.</summary>
public enum SignalAction
{
    /// <summary>Caught and ignored (the default action, e.g. termination, does not happen).</summary>
    Ignore = 0,

    /// <summary>Write a checkpoint at the next sync and go on.</summary>
    Checkpoint = 1,

    /// <summary>Write a checkpoint at the next sync and stop cleanly (outcome STOPPED, exit code 0).</summary>
    Stop = 2,

    /// <summary>
    /// The allocation ends soon (Slurm's advance signal, <c>--signal=B:USR1@120</c>): write a checkpoint and
    /// stop cleanly as the wall-time deadline does, so that a chained job continues in its next link.
    /// </summary>
    Deadline = 3,
}
