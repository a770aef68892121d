using System.Runtime.CompilerServices;
using Convergence.Coordination;
using Convergence.Solver;

namespace Convergence.Control;

/// <summary>Turns the ranks' residual contributions into the one global residual every rank judges.</summary>
internal static class GlobalResidual
{
    /// <summary>Reduces this rank's contribution with the solver's norm: one collective of one double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Reduce(ICoordinator coordinator, ResidualNorm norm, double local) => norm switch
    {
        ResidualNorm.L2 => Math.Sqrt(coordinator.AllreduceSum(local)),
        ResidualNorm.Sum => coordinator.AllreduceSum(local),
        _ => coordinator.AllreduceMax(MaxOperand(local)),
    };

    /// <summary>At a sync: the residual from the reduced header, or (maximum norm) from its own reduction.</summary>
    public static double FromHeader(ICoordinator coordinator, ResidualNorm norm, double headerPart, double local) => norm switch
    {
        ResidualNorm.L2 => Math.Sqrt(headerPart),
        ResidualNorm.Sum => headerPart,
        _ => coordinator.AllreduceMax(MaxOperand(local)),
    };

    /// <summary>This rank's part of the header's residual slot: a maximum norm has none (it is reduced on its own).</summary>
    public static double HeaderPart(ResidualNorm norm, double local) => norm == ResidualNorm.Max ? 0 : local;

    /// <summary>
    /// A NaN local maximum goes into the reduction as +∞. MPI_MAX computes <c>a &gt; b ? a : b</c>, which is
    /// not commutative with a NaN: MPICH 4.0's recursive doubling then leaves NaN on some ranks and a finite
    /// maximum on others, and the ranks would part ways (see docs/ARCHITECTURE.md, "Is the reduced residual
    /// the same on every rank?"). +∞ is ordered, so every rank gets +∞ and ends DIVERGED at the same iteration.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double MaxOperand(double local) => double.IsNaN(local) ? double.PositiveInfinity : local;
}
