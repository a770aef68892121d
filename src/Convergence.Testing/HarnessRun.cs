using Convergence.Journal;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>What <see cref="SolverHarness.Run"/> observed.</summary>
/// <param name="Result">How the run ended, as the job's entry point would turn it into an exit code.</param>
/// <param name="Journal">Every command received, with its state (applied at which iteration, declined, rejected and why), oldest first.</param>
/// <param name="Residuals">The global residual after each iteration, by total iteration (1, 2, …; restarts do not reset it).</param>
/// <param name="Log">The job's log, as it would have gone to stdout.</param>
/// <param name="ServiceDirectory">The service folder: <c>result.txt</c>, <c>status.html</c>, <c>status.json</c> and (by default) the checkpoints.</param>
public sealed record HarnessRun(
    RunResult Result,
    IReadOnlyList<JournalEntry> Journal,
    IReadOnlyList<(long TotalIteration, double Residual)> Residuals,
    string Log,
    string ServiceDirectory);
