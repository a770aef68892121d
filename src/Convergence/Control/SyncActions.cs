using System.Diagnostics;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Control;

/// <summary>
/// What a sync may do on every rank once the header is known: write a checkpoint, stop for a signal or the
/// deadline, apply rank 0's next command (broadcast, then <see cref="BuiltInCommands"/>, then the journal).
/// </summary>
/// <remarks>Collective, on the loop's thread: every rank calls the same member at the same sync.</remarks>
internal sealed class SyncActions : ICommandTarget
{
    private const string NoCheckpoints = "checkpoints are not enabled for this job (see --checkpoint-dir)";

    private readonly IIterativeSolver _solver;
    private readonly ICoordinator _coordinator;
    private readonly RunOptions _options;
    private readonly RankZeroServices? _services;
    private readonly RankZeroPacer? _pacer;
    private readonly ILoopEvents? _events;
    private readonly ICheckpointHandler? _checkpoints;
    private readonly Action<string>? _rankLog;
    private readonly ControlLoopState _state;
    private readonly LoopPause _pause = new();

    /// <summary>The actions of one run on this rank; <paramref name="services"/> and <paramref name="pacer"/> on rank 0 only.</summary>
    public SyncActions(IIterativeSolver solver, ICoordinator coordinator, RunOptions options, ControlLoopState state,
        RankZeroServices? services, RankZeroPacer? pacer, ILoopEvents? events, ICheckpointHandler? checkpoints, Action<string>? rankLog)
    {
        (_solver, _coordinator, _options, _state) = (solver, coordinator, options, state);
        (_services, _pacer, _events, _checkpoints, _rankLog) = (services, pacer, events, checkpoints, rankLog);
    }

    /// <summary>The loop's pause: set and cleared by <c>PAUSE</c> and <c>RESUME</c> (and rank 0's timer, <see cref="ResumeByTimer"/>).</summary>
    public LoopPause Pause => _pause;

    /// <summary>Every rank, when rank 0's clock says a timed pause is over: ends it as <c>RESUME</c> would.</summary>
    public void ResumeByTimer()
    {
        if (_pause.IsPaused)
        {
            _ = Resume();
        }
    }

    /// <summary>Writes a checkpoint if the job has them (else null); rank 0 keeps its time out of its clocks.</summary>
    public string? Checkpoint(string reason)
    {
        if (_checkpoints is null)
        {
            return null;
        }

        var started = Stopwatch.GetTimestamp();
        var note = _checkpoints.Write(_state, reason);
        _services?.Schedule?.CheckpointWritten();
        var now = Stopwatch.GetTimestamp();
        _pacer?.CheckpointTook(now - started, _state.TotalIterations, now);
        return note;
    }

    /// <summary>
    /// A stop asked for by a signal (any rank), the scheduler's advance signal (any rank) or rank 0's deadline,
    /// with a checkpoint first. A stop signal wins: a user's <c>scancel</c> ends a chain even when the
    /// allocation was about to end anyway.
    /// </summary>
    public (RunOutcome Outcome, string Message, StopCause Cause) StopFor(SyncHeader header)
    {
        var size = _coordinator.Size;
        var (cause, reason, checkpointReason) = header.StopVotes > 0
            ? (StopCause.Signal, $"stop signal on {header.StopVotes} of {size} rank(s)", "signal stop")
            : header.DeadlineVotes > 0
                ? (StopCause.AdvanceSignal, $"advance signal (the allocation ends soon) on {header.DeadlineVotes} of {size} rank(s)", "advance signal")
                : (StopCause.Deadline, FormattableString.Invariant($"wall-time deadline {_events?.Deadline?.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ} near"), "deadline");
        var note = Checkpoint(checkpointReason);
        var detail = note is null ? " (no checkpoint: the solver does not support them)" : $"; {note}";
        return (RunOutcome.Stopped, $"{reason}: stopped at iteration {_state.Iteration}{detail}", cause);
    }

    /// <summary>The kind of the command <see cref="ApplyNextCommand"/> applied last (the same on every rank).</summary>
    public CommandKind LastCommandKind { get; private set; }

    /// <summary>Rank 0's next command, broadcast to every rank, applied by the built-in rules and journalled.</summary>
    public CommandEffect ApplyNextCommand()
    {
        var packet = default(CommandPacket);
        var (iteration, total) = (_state.Iteration, _state.TotalIterations);

        // A scheduled command due now goes first: it fires at exactly its iteration, ahead of waiting messages.
        if (_services?.Schedule is { IsEmpty: false } schedule
            && schedule.TryTakeDue(total, DateTimeOffset.UtcNow, out var fired, out var firedText, out var scheduledSequence))
        {
            packet = CommandPacket.From(fired, _services.Journal.Fired(fired, firedText, scheduledSequence));
        }
        else if (_services?.Intake is { } intake && intake.TryDequeue(out var pending))
        {
            packet = CommandPacket.From(pending.Command, pending.Sequence);
        }

        _coordinator.Broadcast(ref packet);
        var command = packet.ToCommand();
        LastCommandKind = command.Kind;
        if (command.Kind is CommandKind.Schedule or CommandKind.Cancel)
        {
            // Rank 0's business only: the schedule lives there, and fires through a later broadcast.
            return TakeSchedule(command, packet.Sequence, iteration, total);
        }

        var oldSetting = _services is null ? null : SettingBefore(command);
        var effect = BuiltInCommands.Apply(command, packet.Sequence, iteration, this);
        if (command.Kind == CommandKind.None)
        {
            return effect;
        }

        if (_services is not null)
        {
            // The new tolerance is shown before the journal says "applied", so no page (the reporter thread
            // takes its snapshot under the live status's lock) shows the change applied beside the old one.
            if (command.Kind == CommandKind.ChangeTolerance && effect.Declined is null)
            {
                _services.Live.RecordTolerance(_state.Tolerance);
            }

            if (effect.Declined is null && oldSetting is { } setting)
            {
                RecordChange(command, packet.Sequence, setting, iteration, total);
            }

            effect.Record(_services.Journal, packet.Sequence, iteration, total);
        }
        else if (effect.Declined is null)
        {
            _rankLog?.Invoke(FormattableString.Invariant($"command applied seq={packet.Sequence} id={command.ClientId ?? "-"} iteration={iteration} total={total}"));
        }

        return effect;
    }

    /// <summary>Rank 0: a schedule or a withdrawal, acknowledged (or refused with the reason) in the journal.</summary>
    private CommandEffect TakeSchedule(ControlCommand command, long sequence, long iteration, long total)
    {
        if (_services is null)
        {
            return CommandEffect.Applied(null);
        }

        if (_services.Schedule is not { } schedule)
        {
            var refused = CommandEffect.Refused($"{command}: scheduled commands are not available in this loop");
            refused.Record(_services.Journal, sequence, iteration, total);
            return refused;
        }

        var (accepted, note) = command.Kind == CommandKind.Schedule
            ? schedule.Add(command, sequence, total, DateTimeOffset.UtcNow)
            : schedule.Cancel(command.Arguments);
        var effect = accepted ? CommandEffect.Applied(note) : CommandEffect.Refused(note);
        effect.Record(_services.Journal, sequence, iteration, total);
        return effect;
    }

    /// <summary>Rank 0: the setting a command changes and its value now, before the command is applied; null for a command that changes none.</summary>
    private (string Setting, string? Value)? SettingBefore(ControlCommand command) => command.Kind switch
    {
        CommandKind.ChangeTolerance => ("tolerance", Invariant(_state.Tolerance)),
        CommandKind.Custom => (command.Name, _solver.SettingValue(command.Name)),
        _ => null,
    };

    /// <summary>Rank 0: the change record gets old → new (the solver's value after the command, else the argument).</summary>
    private void RecordChange(ControlCommand command, long sequence, (string Setting, string? Value) before, long iteration, long total)
    {
        var after = command.Kind == CommandKind.ChangeTolerance
            ? Invariant(_state.Tolerance)
            : _solver.SettingValue(command.Name) ?? command.Arguments;
        _services!.Live.Changes.Add(before.Setting, before.Value, after, iteration, total, DateTimeOffset.UtcNow, command.ClientId, sequence);
    }

    private static string Invariant(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    double ICommandTarget.Tolerance
    {
        get => _state.Tolerance;
        set => _state.Tolerance = value;
    }

    string? ICommandTarget.CheckpointsUnavailable => _checkpoints is null ? NoCheckpoints : null;

    string? ICommandTarget.RestartUnavailable => null;

    bool ICommandTarget.HandlesCustomCommands => true;

    int ICommandTarget.Restart()
    {
        _state.Restarts++;
        (_state.Iteration, _state.Residual) = (0, double.NaN);
        _solver.Initialize(new SolverContext(_coordinator.Rank, _coordinator.Size, _coordinator, _options, _state.Restarts));
        _services?.Live.RecordRestart(_state.Restarts);
        return _state.Restarts;
    }

    CheckpointRestore ICommandTarget.Restore(long? only)
    {
        var restore = _checkpoints!.Restore(_state, only);
        if (restore.Restored)
        {
            _services?.Live.RecordRestart(_state.Restarts);
        }

        return restore;
    }

    string? ICommandTarget.PauseUnavailable => null;

    string ICommandTarget.Pause(TimeSpan? duration)
    {
        var again = _pause.IsPaused;
        _pause.Begin(duration);

        // The page shows the iteration the ranks are held at, not the last one the pacer happened to record.
        _services?.Live.Record(_state.Iteration, _state.TotalIterations, _state.Residual, _state.Tolerance);
        _services?.Live.RecordPause(_state.Iteration, _pause.Since, _pause.ResumesAt);
        var until = _pause.ResumesAt is { } at
            ? FormattableString.Invariant($"resumes by itself at {at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} or on RESUME")
            : "until RESUME";
        return FormattableString.Invariant($"{(again ? "still paused" : "paused")} at iteration {_state.Iteration}, {until}");
    }

    string? ICommandTarget.Resume() => _pause.IsPaused ? Resume() : null;

    private string Resume()
    {
        var ticks = _pause.End();
        _pacer?.PauseTook(ticks);
        _services?.Live.RecordResume();
        return FormattableString.Invariant($"resumed at iteration {_state.Iteration} after {ticks / (double)Stopwatch.Frequency:0.#} s paused");
    }

    void ICommandTarget.ApplyCustom(ControlCommand command) => _solver.ApplyCommand(command);
}
