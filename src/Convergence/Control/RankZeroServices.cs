using Convergence.Intake;
using Convergence.Journal;
using Convergence.Status;

namespace Convergence.Control;

/// <summary>What only rank 0 has: the command intake, the journal and the live status.</summary>
/// <param name="Intake">The watcher's queue; null when the job runs without a notifications file (benchmarks).</param>
/// <param name="Journal">The command journal.</param>
/// <param name="Live">The status hand-over.</param>
public sealed record RankZeroServices(CommandIntake? Intake, CommandJournal Journal, LiveStatus Live)
{
    /// <summary>Scheduled commands (<c>STOP at=5000</c>); null where the loop has none.</summary>
    internal CommandSchedule? Schedule { get; init; }
}
