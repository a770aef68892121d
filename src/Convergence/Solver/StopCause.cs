
namespace Convergence.Solver;

/// <summary>Why a run ended with <see cref="RunOutcome.Stopped"/>; a chained job continues only after an allocation's end.</summary>
public enum StopCause
{
    /// <summary>The run did not stop (it converged, failed, ...).</summary>
    None = 0,

    /// <summary>A <c>STOP</c> command.</summary>
    Command,

    /// <summary>A stop signal (SIGTERM, SIGINT: <c>scancel</c>, Ctrl-C).</summary>
    Signal,

    /// <summary>The wall-time deadline (<c>--deadline</c> or Slurm's end time) was near.</summary>
    Deadline,

    /// <summary>The scheduler's advance signal (a signal mapped to <c>deadline</c>): the allocation ends soon.</summary>
    AdvanceSignal,
}
