using System.Diagnostics;
using System.Runtime.CompilerServices;
using Convergence.Options;

namespace Convergence.Control;

/// <summary>
/// Rank 0's side of the cadence: the distance to the next sync (adaptive or fixed, one sync more while commands
/// wait, a sync exactly where an iteration-based checkpoint is due), what its clocks decide for every rank, and
/// when progress goes to the status page (about every 10 ms).
/// </summary>
/// <remarks>Rank 0 only, on the loop's thread; its decisions reach the other ranks in the sync header.</remarks>
internal sealed class RankZeroPacer
{
    // The status page is rewritten about once a second; recording more often than every 10 ms buys nothing,
    // and at a sync every iteration a clock read and a lock would dominate the boundary.
    private static readonly long StatusRecordTicks = Stopwatch.Frequency / 100;

    private readonly SyncPolicy _sync;
    private readonly RankZeroServices _services;
    private readonly ILoopEvents? _events;
    private readonly bool _needsClock;
    private readonly Cadence _syncs;
    private readonly Cadence _records = new(StatusRecordTicks);
    private long _nextRecord;

    /// <summary>The pacer of one run.</summary>
    public RankZeroPacer(SyncPolicy sync, RankZeroServices services, ILoopEvents? events)
    {
        _sync = sync;
        _services = services;
        _events = events;
        _syncs = new Cadence((long)(sync.Interval.TotalSeconds * Stopwatch.Frequency));

        // Only the time-based cadences and rank 0's clocks need the time: a fixed cadence may sync at every
        // iteration, where a clock read would be most of the boundary.
        _needsClock = sync.Mode != SyncMode.EveryK || events is { UsesClock: true };
    }

    /// <summary>The run starts (or resumes) at <paramref name="total"/>.</summary>
    public void Start(long total, long timestamp)
    {
        _events?.Start(total);
        _syncs.Start(total, timestamp);
        _records.Start(total, timestamp);
        _nextRecord = total + 1;
    }

    /// <summary>At a sync: the distance to the next one and what is due, given whether a command waits.</summary>
    public (long Distance, RootEvent Event) Plan(long total, bool commandWaiting)
    {
        var now = _needsClock ? Stopwatch.GetTimestamp() : _syncs.LastTimestamp;
        long distance;
        if (_sync.Mode == SyncMode.EveryK)
        {
            distance = _sync.K;
            _syncs.Mark(total, now);
        }
        else
        {
            distance = _syncs.Next(total, now);
        }

        distance = commandWaiting ? 1 : Math.Min(distance, _events?.IterationsUntilCheckpoint(total) ?? long.MaxValue);

        // A sync falls exactly on the next scheduled iteration, so every rank's stretch ends there.
        if (_services.Schedule is { IsEmpty: false } schedule)
        {
            distance = Math.Min(distance, schedule.IterationsUntilNext(total));
        }

        return (distance, _events?.Decide(total, now, distance) ?? RootEvent.None);
    }

    /// <summary>
    /// At a sync, with <see cref="Plan"/>: whether a command is to be sent (one waits in the intake, or a scheduled
    /// one is due), the distance to the next sync and what is due. A periodic checkpoint that is the last one a
    /// <c>STOP after-checkpoints=N</c> waits for becomes that STOP (which writes it): the run stops with it,
    /// not one sync later with a second checkpoint.
    /// </summary>
    public (bool CommandWaiting, long Distance, RootEvent Event) PlanSync(long total, bool commandWaiting)
    {
        commandWaiting |= ScheduledDue(total);
        var (distance, rootEvent) = Plan(total, commandWaiting);
        if (rootEvent == RootEvent.Checkpoint && !commandWaiting && _services.Schedule is { IsEmpty: false } schedule && schedule.StopWithNextCheckpoint())
        {
            return (true, 1, RootEvent.None);
        }

        return (commandWaiting, distance, rootEvent);
    }

    /// <summary>Whether a scheduled command is due at this sync (rank 0 then raises the command flag). A compare when nothing is scheduled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ScheduledDue(long total) =>
        _services.Schedule is { IsEmpty: false } schedule && schedule.IsDue(total, schedule.UsesClock ? DateTimeOffset.UtcNow : default);

    /// <summary>After a sync: hands progress to the status page when it is due (a compare, inlined, when not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(ControlLoopState state)
    {
        if (state.TotalIterations >= _nextRecord)
        {
            RecordNow(state);
        }
    }

    private void RecordNow(ControlLoopState state)
    {
        _services.Live.Record(state.Iteration, state.TotalIterations, state.Residual, state.Tolerance);
        _nextRecord = state.TotalIterations + _records.Next(state.TotalIterations, Stopwatch.GetTimestamp());
    }

    /// <summary>The loop was paused for <paramref name="ticks"/>: not iteration time, so the sync cadence does not shrink after a pause.</summary>
    public void PauseTook(long ticks) => _syncs.Exclude(ticks);

    /// <summary>A checkpoint took <paramref name="ticks"/>: the clocks learn it, and it does not count as iteration time.</summary>
    public void CheckpointTook(long ticks, long total, long now)
    {
        _events?.CheckpointTook(ticks, total, now);
        _syncs.Exclude(ticks);
    }
}
