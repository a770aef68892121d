using Convergence.Journal;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>What <see cref="MpiHarness.RunAsync{TFactory}"/> observed: one <see cref="RankRun"/> per rank.</summary>
/// <param name="Ranks">Each rank's run, by rank.</param>
/// <param name="ServiceDirectory">The service folder rank 0 wrote: <c>result.txt</c>, <c>status.html</c>, <c>status.json</c> and (by default) the checkpoints.</param>
/// <param name="Output">The launcher's standard output and error.</param>
public sealed record MpiHarnessRun(IReadOnlyList<RankRun> Ranks, string ServiceDirectory, string Output)
{
    /// <summary>How the run ended (rank 0's result; every rank ends at the same iteration with the same outcome).</summary>
    public RunResult Result => Ranks[0].Result;

    /// <summary>Rank 0's journal: every command received, with its state.</summary>
    public IReadOnlyList<JournalEntry> Journal => Ranks[0].Journal;

    /// <summary>The global residual after each iteration (rank 0's record; every rank records the same reduced values).</summary>
    public IReadOnlyList<(long TotalIteration, double Residual)> Residuals => Ranks[0].Residuals;
}
