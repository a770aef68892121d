using Convergence.Commands;
using Convergence.Journal;
using Convergence.Status;

namespace Convergence.Tests.Status;

/// <summary>Snapshots for page tests, built the way <see cref="LiveStatus"/> builds them.</summary>
public static class SampleSnapshots
{
    /// <summary>Text that would run script if it reached the page unescaped.</summary>
    public const string Hostile = "<img src=x onerror=alert(1)>";

    /// <summary>A running job with a falling residual, one restart, a journal and one custom command.</summary>
    public static StatusSnapshot Running(string jobName = "poisson-64", int points = 300)
    {
        var history = new List<ResidualPoint>();
        for (var i = 0; i < points; i++)
        {
            var restart = i == points / 2;
            var sinceStart = restart || i > points / 2 ? i - (points / 2) : i;
            history.Add(new ResidualPoint(i * 10, sinceStart * 10, Math.Pow(10, -sinceStart / 30.0), i * 0.01, restart));
        }

        var now = new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);
        return new StatusSnapshot
        {
            JobName = jobName,
            SolverName = "jacobi",
            State = JobState.Converging,
            Ranks = 2,
            Iteration = history[^1].Iteration,
            TotalIterations = history[^1].TotalIteration,
            Residual = history[^1].Residual,
            Tolerance = 1e-8,
            Restarts = 1,
            Elapsed = TimeSpan.FromSeconds(83.4),
            IterationsPerSecond = 1234.4,
            EstimatedTimeToTolerance = TimeSpan.FromSeconds(42),
            History = history,
            Journal =
            [
                new JournalEntry(1, "CHECKPOINT #aa11", "aa11", now, JournalState.Applied, 120, 120, null),
                new JournalEntry(2, "CHANGE_TOLERANCE abc #bb22", "bb22", now, JournalState.Rejected, null, null, "CHANGE_TOLERANCE needs a positive finite number such as 1e-8, got 'abc'"),
                new JournalEntry(3, "STOP #cc33", "cc33", now, JournalState.Received, null, null, null),
                new JournalEntry(4, "RESTART", null, now, JournalState.Applied, 1500, 3000, null),
            ],
            CustomCommands =
            [
                new CustomCommand("SET", "SET <name> <value>", "change a solver parameter, e.g. SET relaxation 1.3"),
            ],
            UpdatedAt = now,
        };
    }

    /// <summary>A running job whose every outside text is hostile markup.</summary>
    public static StatusSnapshot HostileEverywhere() => Running(Hostile) with
    {
        SolverName = Hostile,
        Message = Hostile,
        LastCheckpoint = Hostile,
        Journal =
        [
            new JournalEntry(1, Hostile, "x1", DateTimeOffset.UnixEpoch, JournalState.Rejected, null, null, Hostile),
            new JournalEntry(2, Hostile + " #y2", "y2", DateTimeOffset.UnixEpoch, JournalState.Applied, 7, 7, Hostile),
        ],
        CustomCommands = [new CustomCommand("SET", Hostile, Hostile), new CustomCommand("Q\"'<b>&", Hostile, Hostile)],
    };
}
