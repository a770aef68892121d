using Convergence.Commands;
using Convergence.Journal;

namespace Convergence.Status;

/// <summary>Everything the status page shows, frozen at one moment; built on rank 0's reporter thread.</summary>
public sealed record StatusSnapshot
{
    /// <summary>The job's name (from options, else the solver's).</summary>
    public required string JobName { get; init; }

    /// <summary>The solver's name.</summary>
    public required string SolverName { get; init; }

    /// <summary>What the job is doing.</summary>
    public required JobState State { get; init; }

    /// <summary>True once the job has ended (the page stops asking to be reloaded).</summary>
    public bool Finished => State is not (JobState.Starting or JobState.Running or JobState.Converging or JobState.WaitingForAllocation or JobState.Paused);

    /// <summary>Number of ranks.</summary>
    public required int Ranks { get; init; }

    /// <summary>Each host the job runs on with its ranks (e.g. <c>0-1</c>), in order of first rank; empty when not known.</summary>
    public IReadOnlyList<NodeRanks> Nodes { get; init; } = [];

    /// <summary>Iterations since the last (re)start.</summary>
    public required long Iteration { get; init; }

    /// <summary>Iterations over the whole run.</summary>
    public required long TotalIterations { get; init; }

    /// <summary>The latest global residual (NaN before the first sync).</summary>
    public required double Residual { get; init; }

    /// <summary>The tolerance in force.</summary>
    public required double Tolerance { get; init; }

    /// <summary>Restarts so far.</summary>
    public required int Restarts { get; init; }

    /// <summary>Wall time since the loop started.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Recent iteration rate (0 when unknown).</summary>
    public required double IterationsPerSecond { get; init; }

    /// <summary>Estimated time until the residual reaches the tolerance at the recent trend; null when not falling.</summary>
    public TimeSpan? EstimatedTimeToTolerance { get; init; }

    /// <summary>The residual history (downsampled for long runs).</summary>
    public required IReadOnlyList<ResidualPoint> History { get; init; }

    /// <summary>The newest journal entries, oldest first.</summary>
    public required IReadOnlyList<JournalEntry> Journal { get; init; }

    /// <summary>Scheduled commands waiting to fire (<c>STOP at=5000</c>), soonest iteration first.</summary>
    public IReadOnlyList<ScheduledCommand> Scheduled { get; init; } = [];

    /// <summary>The newest applied changes of steerable settings, oldest first (<see cref="ChangeRecord"/>).</summary>
    public IReadOnlyList<ParameterChange> Changes { get; init; } = [];

    /// <summary>Older changes folded per setting, when the run made more than <see cref="ChangeRecord.Capacity"/>.</summary>
    public IReadOnlyList<ChangeSummary> ChangeSummaries { get; init; } = [];

    /// <summary>Every applied change of the run, summarised ones included.</summary>
    public long ChangeCount { get; init; }

    /// <summary>The solver's own commands, each of which gets a control.</summary>
    public required IReadOnlyList<CustomCommand> CustomCommands { get; init; }

    /// <summary>Detail for the page: the failure's error, what ended the run.</summary>
    public string? Message { get; init; }

    /// <summary>The last complete checkpoint and how to resume from it, if any.</summary>
    public string? LastCheckpoint { get; init; }

    /// <summary>The convergence test's warning while it holds ("not converging at this rate: …"); no estimate is given then.</summary>
    public string? Warning { get; init; }

    /// <summary>Where and since when the job is paused (<c>PAUSE</c>); null while it runs.</summary>
    public PauseInfo? Pause { get; init; }

    /// <summary>The stall watchdog's line naming a rank that is behind the others; null when none is.</summary>
    public string? Stall { get; init; }

    /// <summary>When this snapshot was taken.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Suggested seconds between page reloads while the job runs.</summary>
    public int RefreshSeconds { get; init; } = 2;

    /// <summary>
    /// The page of a job that failed before (or without) rank 0's history: no iterations, no journal, the
    /// error as the message. Written by a rank that must report the failure itself.
    /// </summary>
    public static StatusSnapshot Failed(string jobName, string solverName, int ranks, double tolerance, string error) => new()
    {
        JobName = jobName,
        SolverName = solverName,
        State = JobState.Failed,
        Ranks = ranks,
        Iteration = 0,
        TotalIterations = 0,
        Residual = double.NaN,
        Tolerance = tolerance,
        Restarts = 0,
        Elapsed = TimeSpan.Zero,
        IterationsPerSecond = 0,
        History = [],
        Journal = [],
        CustomCommands = [],
        Message = error,
        UpdatedAt = DateTimeOffset.UtcNow,
    };
}
