using Convergence.Coordination;
using Convergence.Solver;

namespace Convergence.Control;

/// <summary>How an iteration between syncs reduces its residual; false asks every rank for a full sync now.</summary>
/// <remarks>Implemented by structs, so the loop is compiled once per reduction with the call inlined.</remarks>
internal interface IStretchReduction
{
    /// <summary>Reduces this rank's contribution; false when every rank must join a sync at this iteration.</summary>
    bool TryReduce(double local, out double residual);
}

/// <summary>Every cadence but piggy-back: the solver's own reduction, nothing else.</summary>
internal readonly struct PlainReduction(ICoordinator coordinator, ResidualNorm norm) : IStretchReduction
{
    /// <inheritdoc />
    public bool TryReduce(double local, out double residual)
    {
        residual = GlobalResidual.Reduce(coordinator, norm, local);
        return true;
    }
}

/// <summary>
/// Piggy-back (L2 or sum norm): a rank with an event waiting (rank 0: a command; any rank: a signal)
/// contributes −∞ instead of its residual part. The sum is then −∞ or NaN on every rank alike, and every
/// rank leaves for a full sync at this iteration, whose header carries the real residual again. A NaN
/// from a diverging solver takes the same way and is judged there.
/// </summary>
internal readonly struct FlaggedReduction(ICoordinator coordinator, ControlLoop loop, bool l2) : IStretchReduction
{
    /// <inheritdoc />
    public bool TryReduce(double local, out double residual)
    {
        var sum = coordinator.AllreduceSum(loop.EventWaiting() ? double.NegativeInfinity : local);
        residual = l2 ? Math.Sqrt(sum) : sum;
        return !(double.IsNaN(sum) || double.IsNegativeInfinity(sum));
    }
}
