using Convergence.Journal;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>What one rank of an <see cref="MpiHarness"/> job observed.</summary>
/// <param name="Rank">The rank.</param>
/// <param name="Result">How the run ended on this rank (the same outcome and iteration on every rank).</param>
/// <param name="Journal">Rank 0: every command received, with its state, oldest first; empty on the other ranks, which have no watcher.</param>
/// <param name="Residuals">The global residual after each iteration, by total iteration: reduced over all ranks, so the same on each.</param>
/// <param name="ResultFields">The solver's <c>ResultFields</c> on this rank after <c>Finish</c>, in order.</param>
/// <param name="Log">This rank's log.</param>
public sealed record RankRun(
    int Rank,
    RunResult Result,
    IReadOnlyList<JournalEntry> Journal,
    IReadOnlyList<(long TotalIteration, double Residual)> Residuals,
    IReadOnlyList<(string Key, string Value)> ResultFields,
    string Log)
{
    /// <summary>The value of one of the solver's result fields on this rank.</summary>
    /// <param name="key">The field's key, e.g. <c>max_temperature</c>.</param>
    /// <returns>The value as the solver wrote it.</returns>
    /// <exception cref="KeyNotFoundException">The solver has no such field.</exception>
    public string Field(string key) =>
        ResultFields.FirstOrDefault(f => f.Key == key) is { Key: not null } found
            ? found.Value
            : throw new KeyNotFoundException($"rank {Rank}: the solver has no result field '{key}' (it has: {string.Join(", ", ResultFields.Select(f => f.Key))})");
}
