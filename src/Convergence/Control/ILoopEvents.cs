namespace Convergence.Control;

/// <summary>
/// What may interrupt a <see cref="ControlLoop"/> besides a command: this rank's caught signals and its
/// background threads' failures, and rank 0's clocks (periodic checkpoints, the wall-time deadline).
/// </summary>
/// <remarks>
/// The loop calls these on the thread that owns MPI, at sync boundaries only; under piggy-back it also reads
/// <see cref="SignalPending"/> once per iteration, so that read must be a flag read. The members marked
/// "rank 0" are called on rank 0 only; their decisions reach the other ranks in the sync header.
/// </remarks>
public interface ILoopEvents
{
    /// <summary>Any rank: a caught signal waits for the next sync.</summary>
    bool SignalPending { get; }

    /// <summary>Rank 0: whether <see cref="Decide"/> needs the time at every sync (a deadline or a timed checkpoint is set).</summary>
    bool UsesClock { get; }

    /// <summary>Rank 0: the wall-time deadline, for the stop message; null when there is none.</summary>
    DateTimeOffset? Deadline { get; }

    /// <summary>Any rank: takes the signals caught since the last call (this rank's votes).</summary>
    LoopSignals TakeSignals();

    /// <summary>Any rank: throws, on the loop's thread, a failure a background thread has recorded.</summary>
    void ThrowIfFailed();

    /// <summary>Rank 0: the run starts (or resumes) at <paramref name="totalIterations"/>.</summary>
    void Start(long totalIterations);

    /// <summary>Rank 0: iterations until a periodic checkpoint is due by count; <see cref="long.MaxValue"/> when none.</summary>
    long IterationsUntilCheckpoint(long totalIterations);

    /// <summary>Rank 0: what is due at this sync, given the time and the distance in iterations to the next one.</summary>
    RootEvent Decide(long totalIterations, long timestamp, long iterationsToNextSync);

    /// <summary>Rank 0: a checkpoint took <paramref name="ticks"/>; periods start again and the deadline learns its cost.</summary>
    void CheckpointTook(long ticks, long totalIterations, long timestamp);
}
