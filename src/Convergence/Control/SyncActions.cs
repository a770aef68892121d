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

    /// <summary>The actions of one run on this rank; <paramref name="services"/> and <paramref name="pacer"/> on rank 0 only.</summary>
    public SyncActions(IIterativeSolver solver, ICoordinator coordinator, RunOptions options, ControlLoopState state,
        RankZeroServices? services, RankZeroPacer? pacer, ILoopEvents? events, ICheckpointHandler? checkpoints, Action<string>? rankLog)
    {
        (_solver, _coordinator, _options, _state) = (solver, coordinator, options, state);
        (_services, _pacer, _events, _checkpoints, _rankLog) = (services, pacer, events, checkpoints, rankLog);
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

    /// <summary>Rank 0's next command, broadcast to every rank, applied by the built-in rules and journalled.</summary>
    public CommandEffect ApplyNextCommand()
    {
        var packet = default(CommandPacket);
        if (_services?.Intake is { } intake && intake.TryDequeue(out var pending))
        {
            packet = CommandPacket.From(pending.Command, pending.Sequence);
        }

        _coordinator.Broadcast(ref packet);
        var command = packet.ToCommand();
        var (iteration, total) = (_state.Iteration, _state.TotalIterations);
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

            effect.Record(_services.Journal, packet.Sequence, iteration, total);
        }
        else if (effect.Declined is null)
        {
            _rankLog?.Invoke(FormattableString.Invariant($"command applied seq={packet.Sequence} id={command.ClientId ?? "-"} iteration={iteration} total={total}"));
        }

        return effect;
    }

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

    void ICommandTarget.ApplyCustom(ControlCommand command) => _solver.ApplyCommand(command);
}
