namespace Convergence.Commands;

/// <summary>What a control command asks the running job to do.</summary>
/// <remarks>The numeric values travel in <see cref="Coordination.CommandPacket"/>; never renumber them.</remarks>
public enum CommandKind
{
    /// <summary>No command (an empty packet).</summary>
    None = 0,

    /// <summary>Stop at the next boundary; no further solver work, no finish hook.</summary>
    Abort = 1,

    /// <summary>Stop at the next boundary and finish cleanly (finish hook, final result).</summary>
    Stop = 2,

    /// <summary>Re-initialise the solver state on every rank; the iteration count starts again.</summary>
    Restart = 3,

    /// <summary>Roll every rank back to the last complete checkpoint.</summary>
    RestartFromCheckpoint = 4,

    /// <summary>Write a checkpoint at the next boundary.</summary>
    Checkpoint = 5,

    /// <summary>Set a new convergence tolerance (<see cref="ControlCommand.Value"/>).</summary>
    ChangeTolerance = 6,

    /// <summary>A command the solver registered (<see cref="ControlCommand.Name"/>).</summary>
    Custom = 7,

    /// <summary>
    /// Schedule a <c>STOP</c> or <c>CHECKPOINT</c> (<see cref="ControlCommand.Name"/>) for later; its
    /// <see cref="ControlCommand.Arguments"/> are a <see cref="ScheduleSpec"/> (<c>at=5000</c>, <c>at=+30m</c>, <c>after-checkpoints=2</c>).
    /// </summary>
    Schedule = 8,

    /// <summary>Withdraw a scheduled command; <see cref="ControlCommand.Arguments"/> is its <c>#id</c> without the <c>#</c>.</summary>
    Cancel = 9,

    /// <summary>Hold every rank at this iteration until <c>RESUME</c> (or for <see cref="ControlCommand.Value"/> seconds when positive).</summary>
    Pause = 10,

    /// <summary>End a pause: every rank goes on from the iteration where it paused.</summary>
    Resume = 11,
}
