namespace Convergence.Control;

/// <summary>
/// The doubles that ride in the residual reduction at a sync boundary, summed over the ranks: what each rank
/// contributes and what every rank reads back, identically, after the reduction.
/// </summary>
/// <remarks>
/// Slots: the residual part (0 for a maximum norm, which is reduced on its own), rank 0's "a command is
/// waiting" flag, rank 0's distance to the next sync, the stop, checkpoint and "the allocation ends" votes
/// (one per rank that caught such a signal), and rank 0's own event (<see cref="RootEvent"/>). Only rank 0
/// writes its slots, so their sum is rank 0's value; the votes count ranks. The values are small integers,
/// exact in a double, so every rank reads the same numbers. One instance per loop, reused at every sync:
/// no allocation.
/// </remarks>
internal sealed class SyncHeader
{
    /// <summary>Doubles in the header.</summary>
    public const int Length = 7;

    private const int SlotResidual = 0;
    private const int SlotCommandWaiting = 1;
    private const int SlotNextDistance = 2;
    private const int SlotStopVotes = 3;
    private const int SlotCheckpointVotes = 4;
    private const int SlotRootEvent = 5;
    private const int SlotDeadlineVotes = 6;

    // An inline array: constant-index reads and writes need no bounds check, and the header sits in this object.
    private SlotArray _slots;

    /// <summary>The slots, for the reduction.</summary>
    public Span<double> Slots => _slots;

    /// <summary>Every rank: clears the header and writes this rank's residual part and signal votes.</summary>
    public void Begin(double residualPart, LoopSignals signals)
    {
        ((Span<double>)_slots).Clear();
        _slots[SlotResidual] = residualPart;
        _slots[SlotStopVotes] = (signals & LoopSignals.Stop) != 0 ? 1 : 0;
        _slots[SlotCheckpointVotes] = (signals & LoopSignals.Checkpoint) != 0 ? 1 : 0;
        _slots[SlotDeadlineVotes] = (signals & LoopSignals.Deadline) != 0 ? 1 : 0;
    }

    /// <summary>Rank 0: its flag, its distance to the next sync and its clocks' event.</summary>
    public void SetRoot(bool commandWaiting, long nextDistance, RootEvent rootEvent)
    {
        _slots[SlotCommandWaiting] = commandWaiting ? 1 : 0;
        _slots[SlotNextDistance] = nextDistance;
        _slots[SlotRootEvent] = (double)rootEvent;
    }

    /// <summary>The reduced residual part (a sum of squares, or a sum).</summary>
    public double ResidualPart => _slots[SlotResidual];

    /// <summary>Rank 0 had a command waiting.</summary>
    public bool CommandWaiting => _slots[SlotCommandWaiting] > 0;

    /// <summary>Rank 0's distance to the next sync, at least 1.</summary>
    public long NextDistance => Math.Max(1, (long)_slots[SlotNextDistance]);

    /// <summary>Ranks that caught a stop signal.</summary>
    public int StopVotes => (int)_slots[SlotStopVotes];

    /// <summary>Ranks that caught a checkpoint signal.</summary>
    public int CheckpointVotes => (int)_slots[SlotCheckpointVotes];

    /// <summary>Ranks that caught the scheduler's "the allocation ends soon" signal.</summary>
    public int DeadlineVotes => (int)_slots[SlotDeadlineVotes];

    /// <summary>Rank 0's clocks' decision.</summary>
    public RootEvent RootEvent => (RootEvent)(int)_slots[SlotRootEvent];

    /// <summary>Nothing to act on: no command, no vote, no event (the common sync; one compare).</summary>
    public bool Quiet => _slots[SlotCommandWaiting] + _slots[SlotStopVotes] + _slots[SlotCheckpointVotes] + _slots[SlotRootEvent] + _slots[SlotDeadlineVotes] == 0;

    /// <summary>Whether every rank stops now: a stop signal, the advance signal or rank 0's deadline.</summary>
    public bool Stops => _slots[SlotStopVotes] > 0 || _slots[SlotDeadlineVotes] > 0 || _slots[SlotRootEvent] == (double)RootEvent.Deadline;

    /// <summary>Whether every rank writes a checkpoint now: a checkpoint signal or rank 0's periodic schedule.</summary>
    public bool Checkpoints => _slots[SlotCheckpointVotes] > 0 || _slots[SlotRootEvent] == (double)RootEvent.Checkpoint;

    [System.Runtime.CompilerServices.InlineArray(Length)]
    private struct SlotArray
    {
        private double _first;
    }
}
