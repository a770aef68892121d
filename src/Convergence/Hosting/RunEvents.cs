using Convergence.Checkpoints;
using Convergence.Control;
using Convergence.Signals;

namespace Convergence.Hosting;

/// <summary>
/// The <see cref="ILoopEvents"/> of a job: this rank's <see cref="SignalVotes"/> and <see cref="FailureRoute"/>,
/// and on rank 0 the periodic <see cref="CheckpointSchedule"/> and the <see cref="WallTimeBudget"/>.
/// </summary>
/// <remarks>Each part is optional; the loop's thread calls every member (see <see cref="ILoopEvents"/>).</remarks>
internal sealed class RunEvents(SignalVotes? signals, FailureRoute? failures, CheckpointSchedule? schedule, WallTimeBudget? budget) : ILoopEvents
{
    /// <inheritdoc />
    public bool SignalPending => signals?.HasPending ?? false;

    /// <inheritdoc />
    public bool UsesClock => schedule is not null || budget is not null;

    /// <inheritdoc />
    public DateTimeOffset? Deadline => budget?.Deadline;

    /// <inheritdoc />
    public LoopSignals TakeSignals()
    {
        if (signals is null)
        {
            return LoopSignals.None;
        }

        var (stop, checkpoint, deadline) = signals.TakeAll();
        return (stop ? LoopSignals.Stop : 0) | (checkpoint ? LoopSignals.Checkpoint : 0) | (deadline ? LoopSignals.Deadline : 0);
    }

    /// <inheritdoc />
    public void ThrowIfFailed() => failures?.ThrowIfPending();

    /// <inheritdoc />
    public void Start(long totalIterations) => schedule?.Reset(totalIterations);

    /// <inheritdoc />
    public long IterationsUntilCheckpoint(long totalIterations) => schedule?.IterationsUntilDue(totalIterations) ?? long.MaxValue;

    /// <inheritdoc />
    public RootEvent Decide(long totalIterations, long timestamp, long iterationsToNextSync)
    {
        if (budget is not null && budget.MustStop(totalIterations, timestamp, iterationsToNextSync))
        {
            return RootEvent.Deadline;
        }

        return schedule is not null && schedule.IsDue(totalIterations, timestamp) ? RootEvent.Checkpoint : RootEvent.None;
    }

    /// <inheritdoc />
    public void CheckpointTook(long ticks, long totalIterations, long timestamp)
    {
        schedule?.Reset(totalIterations);
        budget?.CheckpointTook(ticks, totalIterations, timestamp);
    }
}
