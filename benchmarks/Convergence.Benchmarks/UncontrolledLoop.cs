using Convergence.Coordination;
using Convergence.Solver;

namespace Convergence.Benchmarks;

/// <summary>
/// The loop a solver author writes without the framework: iterate, reduce the residual, compare. Every
/// benchmark's baseline, so ratios read as "cost of control on top of the bare loop".
/// </summary>
internal static class UncontrolledLoop
{
    /// <summary>Runs <paramref name="iterations"/> iterations (fewer if the residual meets <paramref name="tolerance"/>).</summary>
    public static double Run(IIterativeSolver solver, ICoordinator coordinator, double tolerance, long iterations)
    {
        var residual = double.NaN;
        for (long i = 0; i < iterations; i++)
        {
            // Same work as the control loop's no-sync path: the solver's reduction and the two checks.
            residual = Math.Sqrt(coordinator.AllreduceSum(solver.Iterate()));
            if (residual < tolerance || !double.IsFinite(residual))
            {
                break;
            }
        }

        return residual;
    }
}
