using Convergence.Commands;

namespace Convergence.Control;

/// <summary>What a loop that steers a solver lets the built-in commands do (<see cref="BuiltInCommands"/>).</summary>
/// <remarks>The control loop and the MathNet adapter each implement it; both apply commands by the same rules.</remarks>
internal interface ICommandTarget
{
    /// <summary>The tolerance in force; <c>CHANGE_TOLERANCE</c> sets it.</summary>
    double Tolerance { get; set; }

    /// <summary>Why <c>CHECKPOINT</c> and <c>RESTART checkpoint</c> cannot be done here; null when they can.</summary>
    string? CheckpointsUnavailable { get; }

    /// <summary>Why <c>RESTART</c> cannot be done here; null when it can.</summary>
    string? RestartUnavailable { get; }

    /// <summary>Whether custom commands reach a handler.</summary>
    bool HandlesCustomCommands { get; }

    /// <summary>Writes a checkpoint (collective); returns the note, or null when this loop writes none.</summary>
    string? Checkpoint(string reason);

    /// <summary>Starts the solver again from its initial state; returns the number of restarts so far.</summary>
    int Restart();

    /// <summary>Loads the newest checkpoint that fits, or the one numbered <paramref name="only"/> (collective).</summary>
    CheckpointRestore Restore(long? only = null);

    /// <summary>Why <c>PAUSE</c> and <c>RESUME</c> cannot be done here; null when they can.</summary>
    string? PauseUnavailable { get; }

    /// <summary>Holds every rank at this iteration (again, when already paused: the new duration counts from now); returns the note.</summary>
    /// <param name="duration">How long until the loop resumes by itself; null for "until RESUME".</param>
    string Pause(TimeSpan? duration);

    /// <summary>Ends the pause; returns the note, or null when the loop is not paused.</summary>
    string? Resume();

    /// <summary>Hands a custom command to the solver.</summary>
    void ApplyCustom(ControlCommand command);
}
