using Convergence.Hosting;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>
/// Builds the solver under test on every rank of an <see cref="MpiHarness"/> job. The harness names the type,
/// not an instance: each rank is its own process, which creates the factory with its parameterless constructor
/// and asks it for that rank's solver.
/// </summary>
/// <example>
/// <code>
/// public sealed class SmallGrid : IRankSolverFactory
/// {
///     public IIterativeSolver Create(JobSetup setup) =>
///         new HeatEquation(HeatOptions.Table.ParseAll(setup.SolverArguments, new HeatOptions()), setup.Rank, setup.Size);
/// }
/// </code>
/// </example>
public interface IRankSolverFactory
{
    /// <summary>Creates this rank's solver (the harness calls <c>Initialize</c>).</summary>
    /// <param name="setup">
    /// The run's options as the framework parsed them from the harness's arguments, the arguments it left for
    /// the solver, this rank and the number of ranks.
    /// </param>
    /// <returns>A new solver for this rank's share of the problem.</returns>
    IIterativeSolver Create(JobSetup setup);
}
