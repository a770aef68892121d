using Convergence.Options;

namespace Convergence.Hosting;

/// <summary>What a solver factory gets: the resolved options and the arguments the framework did not use.</summary>
/// <param name="Options">The run's options.</param>
/// <param name="SolverArguments">Command-line arguments left for the solver.</param>
/// <param name="Rank">This process's rank.</param>
/// <param name="Size">The number of ranks.</param>
public sealed record JobSetup(RunOptions Options, IReadOnlyList<string> SolverArguments, int Rank, int Size);
