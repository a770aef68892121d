using System.Runtime.CompilerServices;

namespace Convergence.Control;

/// <summary>Whether an iteration's global residual ends the run between syncs.</summary>
/// <remarks>Implemented by structs, so the loop is compiled once per test with the call inlined.</remarks>
internal interface IStretchEnd
{
    /// <summary>True when the run ends at this iteration.</summary>
    bool Ends(long iteration, double residual, double tolerance);
}

/// <summary>The default test, inline: converged below the tolerance, diverged when not finite.</summary>
internal readonly struct InlineEnd : IStretchEnd
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Ends(long iteration, double residual, double tolerance) => residual < tolerance || !double.IsFinite(residual);
}

/// <summary>A configured convergence test, through <see cref="LoopConvergence"/>, which keeps the verdict.</summary>
internal readonly struct TestedEnd(LoopConvergence convergence) : IStretchEnd
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Ends(long iteration, double residual, double tolerance) => !double.IsFinite(residual) || convergence.Evaluate(iteration, residual, tolerance);
}
