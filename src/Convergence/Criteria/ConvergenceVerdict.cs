namespace Convergence.Criteria;

/// <summary>What an <see cref="IConvergenceTest"/> says about one iteration's global residual.</summary>
public enum ConvergenceVerdict
{
    /// <summary>Keep iterating.</summary>
    Continue,

    /// <summary>The run has converged; it ends with <c>CONVERGED</c>.</summary>
    Converged,

    /// <summary>The residual is growing away; the run ends with <c>DIVERGED</c>.</summary>
    Diverged,

    /// <summary>The residual has stopped improving; the run ends with <c>STAGNATED</c>.</summary>
    Stagnated,

    /// <summary>
    /// Keep iterating, but the residual is not improving at a useful rate: the status page and the log say
    /// "not converging at this rate" instead of an estimate. Ends nothing.
    /// </summary>
    NotConverging,
}
