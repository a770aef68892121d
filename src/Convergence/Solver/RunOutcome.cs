
namespace Convergence.Solver;

/// <summary>How a run ended. A value, not an exception: a diverging solver is an outcome, not a crash.</summary>
public enum RunOutcome
{
    /// <summary>The global residual fell below the tolerance.</summary>
    Converged,

    /// <summary>A user asked for a clean stop (<c>STOP</c>, or a signal or deadline that maps to it).</summary>
    Stopped,

    /// <summary>A user asked to abort (<c>ABORT</c>); no finish hook ran.</summary>
    Aborted,

    /// <summary>The iteration limit was reached before convergence.</summary>
    IterationLimit,

    /// <summary>The global residual became NaN or infinite.</summary>
    Diverged,

    /// <summary>A rank threw; the job was brought down.</summary>
    Failed,

    /// <summary>The residual stopped improving (<c>--stagnation</c>, or the solver's own convergence test).</summary>
    Stagnated,
}
