namespace Convergence.Solver;

/// <summary>How the ranks' local residual contributions combine into the global residual.</summary>
public enum ResidualNorm
{
    /// <summary>Each rank returns a sum of squares; the global residual is the square root of their sum.</summary>
    L2 = 0,

    /// <summary>Each rank returns a partial sum; the global residual is their sum.</summary>
    Sum = 1,

    /// <summary>Each rank returns a local maximum; the global residual is the largest (one extra reduction at syncs).</summary>
    Max = 2,
}
