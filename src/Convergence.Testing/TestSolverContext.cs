using Convergence.Coordination;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>A <see cref="SolverContext"/> for calling a solver's <c>Initialize</c> in a unit test.</summary>
public static class TestSolverContext
{
    /// <summary>Rank 0 of 1 with the single-process coordinator (its collectives return this rank's values).</summary>
    /// <param name="options">The run's options; <see cref="TestRunOptions.Create"/> when null.</param>
    /// <param name="restarts">The restart count the solver sees (0 at the first start).</param>
    /// <returns>The context.</returns>
    public static SolverContext Create(RunOptions? options = null, int restarts = 0) =>
        new(0, 1, new SingleProcessCoordinator(), options ?? TestRunOptions.Create(), restarts);
}
