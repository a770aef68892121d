using System.Globalization;
using Convergence.Commands;
using Convergence.Solver;

namespace Convergence.Control;

/// <summary>
/// What each built-in command means, for every loop that steers a solver: the control loop and the MathNet
/// adapter apply commands through here, so they take the same effects and write the same words.
/// </summary>
/// <remarks>
/// One command per boundary: a loop applies one, then looks again at the next boundary (the control loop
/// syncs again at the next iteration while more wait). <c>ABORT</c> ends the run at once; <c>STOP</c> writes
/// a checkpoint first where the loop has them; a command the loop cannot carry out is declined with a
/// one-line reason and the run goes on unchanged.
/// </remarks>
internal static class BuiltInCommands
{
    /// <summary>Applies <paramref name="command"/> (sequence <paramref name="sequence"/>) at <paramref name="iteration"/> through <paramref name="target"/>.</summary>
    public static CommandEffect Apply(ControlCommand command, long sequence, long iteration, ICommandTarget target)
    {
        switch (command.Kind)
        {
            case CommandKind.None:
                return CommandEffect.None;
            case CommandKind.Abort:
                return CommandEffect.Ends(RunOutcome.Aborted, $"ABORT received (seq {sequence}) at iteration {iteration}");
            case CommandKind.Stop:
                var stopNote = target.Checkpoint("stop");
                return CommandEffect.Ends(
                    RunOutcome.Stopped,
                    $"STOP received (seq {sequence}) at iteration {iteration}{(stopNote is null ? string.Empty : $"; {stopNote}")}",
                    stopNote);
            case CommandKind.ChangeTolerance:
                var toleranceNote = string.Create(CultureInfo.InvariantCulture, $"tolerance {target.Tolerance:G6} -> {command.Value:G6}");
                target.Tolerance = command.Value;
                return CommandEffect.Applied(toleranceNote);
            case CommandKind.Restart:
                return target.RestartUnavailable is { } noRestart
                    ? Unavailable(command, noRestart)
                    : CommandEffect.Applied($"restart #{target.Restart()}", restarted: true);
            case CommandKind.Checkpoint:
                return target.CheckpointsUnavailable is { } noCheckpoint
                    ? Unavailable(command, noCheckpoint)
                    : CommandEffect.Applied(target.Checkpoint("command"));
            case CommandKind.RestartFromCheckpoint:
                if (target.CheckpointsUnavailable is { } noRestore)
                {
                    return Unavailable(command, noRestore);
                }

                var restore = target.Restore(command.WholeNumber > 0 ? command.WholeNumber : null);
                return restore.Restored ? CommandEffect.Applied(restore.Note, restarted: true) : CommandEffect.Refused(restore.Note);
            case CommandKind.Pause:
                return target.PauseUnavailable is { } noPause
                    ? Unavailable(command, noPause)
                    : CommandEffect.Applied(target.Pause(command.Value > 0 ? TimeSpan.FromSeconds(command.Value) : null));
            case CommandKind.Resume:
                return target.PauseUnavailable is { } noResume
                    ? Unavailable(command, noResume)
                    : target.Resume() is { } resumed ? CommandEffect.Applied(resumed) : CommandEffect.Refused("RESUME: the job is not paused");
            case CommandKind.Custom:
                if (!target.HandlesCustomCommands)
                {
                    return CommandEffect.Refused($"{command.Name} has no handler in this job");
                }

                target.ApplyCustom(command);
                return CommandEffect.Applied(null);
            case CommandKind.Schedule or CommandKind.Cancel:
                // The control loop takes these in before it comes here; other loops have no schedule.
                return Unavailable(command, "scheduled commands need the framework's control loop");
            default:
                throw new InvalidOperationException($"Command of unknown kind {(int)command.Kind}: do all ranks run the same version?");
        }
    }

    private static CommandEffect Unavailable(ControlCommand command, string reason) => CommandEffect.Refused($"{command.Name} is not available: {reason}");
}
