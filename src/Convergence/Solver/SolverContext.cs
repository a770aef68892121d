using Convergence.Coordination;
using Convergence.Options;

namespace Convergence.Solver;

/// <summary>What a solver learns about its run when it is (re-)initialised.</summary>
/// <param name="Rank">This process's rank.</param>
/// <param name="Size">The number of ranks.</param>
/// <param name="Coordinator">
/// Collectives for set-up work (e.g. a global norm of the right-hand side). Call them only from
/// <see cref="IIterativeSolver.Initialize"/>, the same way on every rank.
/// </param>
/// <param name="Options">The run's resolved options.</param>
/// <param name="Restarts">How many times the run has been restarted before this initialisation.</param>
public sealed record SolverContext(int Rank, int Size, ICoordinator Coordinator, RunOptions Options, int Restarts);
