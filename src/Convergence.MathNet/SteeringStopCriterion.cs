using System.Diagnostics;
using System.Globalization;
using Convergence.Commands;
using Convergence.Control;
using Convergence.Criteria;
using Convergence.Hosting;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Solver;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.MathNet;

/// <summary>
/// A MathNet.Numerics stop criterion that carries the user's commands into the solver's own loop: <c>ABORT</c>
/// ends it as <see cref="IterationStatus.Cancelled"/>, <c>STOP</c> as
/// <see cref="IterationStatus.StoppedWithoutConvergence"/>, <c>CHANGE_TOLERANCE</c> moves the convergence
/// threshold. It is also the residual criterion, and it feeds the residual to the status page.
/// </summary>
/// <remarks>
/// <para>
/// Convergence test, the same as MathNet's <c>ResidualStopCriterion</c> with no minimum count:
/// converged when <c>max|r| &lt; Tolerance · max|b|</c>. The residual shown and recorded is the relative one,
/// <c>max|r| / max|b|</c>, so it compares directly with the tolerance. A NaN or infinite residual is
/// <see cref="IterationStatus.Diverged"/>.
/// </para>
/// <para>
/// MathNet's solvers call <see cref="DetermineStatus"/> up to three times per iteration with the same
/// iteration number (a provisional check, then a check on the true residual). Commands are looked at and
/// progress is recorded only on the first call of each new iteration number, and then only every
/// <see cref="CommandCheckInterval"/> iterations: the cost there is a counter compare and one lock-free
/// <see cref="CommandIntake.IsEmpty"/> read. Commands are applied by the same rules and words as in the
/// control loop (<see cref="BuiltInCommands"/>): one per iteration, in arrival order; while more wait, the
/// next iteration looks again. <c>RESTART</c> and <c>CHECKPOINT</c> are declined with a reason. Once a command has ended the run, every further call returns the same
/// status (until <see cref="Reset"/>), because the solvers ask again after computing the true residual.
/// </para>
/// <para>
/// Per call the work is one O(n) pass over the residual, allocation-free for dense vectors: <c>max|b|</c> is computed once per solve (the source
/// vector does not change during one; a different vector object is measured anew). Progress goes to the
/// status page the way the control loop records it: at most about every 10 ms of wall time, with the
/// distance in iterations adapted from the measured rate, so the lock and the clock read are paid once
/// every many iterations, not in each.
/// </para>
/// <para>Not thread-safe: MathNet calls it from the thread that runs <c>Solve</c>.</para>
/// </remarks>
public sealed class SteeringStopCriterion : IIterationStopCriterion<double>, ICommandTarget
{
    // The status page is rewritten about once a second; recording more often than every 10 ms buys nothing.
    private static readonly long RecordTicks = Stopwatch.Frequency / 100;

    // Why RESTART and CHECKPOINT are declined: MathNet's solver keeps its iterate and Krylov space to itself.
    private const string NoOwnState = "a MathNet.Numerics solver owns its state; use STOP and start a new job";

    private readonly ServiceHost? _host;
    private double _tolerance;
    private Vector<double>? _source;
    private double _sourceNorm;
    private readonly Cadence _records = new(RecordTicks);
    private bool _recording;
    private int _nextRecord;
    private IterationStatus _status = IterationStatus.Continue;
    private IterationStatus _commanded = IterationStatus.Continue;
    private int _lastIteration = -1;
    private int _sinceCheck;
    private bool _warning;

    /// <summary>Creates the criterion.</summary>
    /// <param name="tolerance">Converged when <c>max|r| &lt; tolerance · max|b|</c>; positive and finite.</param>
    /// <param name="host">Rank 0's services: commands come from its intake, progress goes to its status; null for none.</param>
    /// <param name="commandCheckInterval">Look for commands every this many iterations (at least 1).</param>
    public SteeringStopCriterion(double tolerance, ServiceHost? host = null, int commandCheckInterval = 1)
    {
        CheckTolerance(tolerance);
        ArgumentOutOfRangeException.ThrowIfLessThan(commandCheckInterval, 1);
        _tolerance = tolerance;
        _host = host;
        CommandCheckInterval = commandCheckInterval;
    }

    /// <summary>The relative residual below which the solve has converged; changed by <c>CHANGE_TOLERANCE</c>.</summary>
    public double Tolerance
    {
        get => _tolerance;
        set
        {
            CheckTolerance(value);
            _tolerance = value;
        }
    }

    /// <summary>Iterations between looks at the command queue.</summary>
    public int CommandCheckInterval { get; }

    /// <summary>Applies custom commands (validated on receipt); when null they are declined.</summary>
    public Action<ControlCommand>? ApplyCustomCommand { get; init; }

    /// <inheritdoc />
    public IterationStatus Status => _status;

    /// <summary>The highest iteration number the solver has reported.</summary>
    public int Iteration => Math.Max(_lastIteration, 0);

    /// <summary>The last relative residual seen (<c>max|r| / max|b|</c>); NaN before the first call.</summary>
    public double LastResidual { get; private set; } = double.NaN;

    /// <summary>
    /// A convergence test beside the tolerance compare (<c>--divergence-factor</c>, <c>--stagnation</c>): asked
    /// once per iteration, on the first call of each iteration number, with the relative residual. Its
    /// diverged and stagnated verdicts end the solve (<see cref="RunOutcome.Diverged"/>,
    /// <see cref="RunOutcome.Stagnated"/>), its "not converging" verdict shows on the page; convergence stays
    /// the tolerance compare, made on every call (MathNet asks again with the true residual). Null for none.
    /// </summary>
    public IConvergenceTest? ConvergenceTest { get; init; }

    /// <summary>
    /// <see cref="RunOutcome.Aborted"/> or <see cref="RunOutcome.Stopped"/> when a command ended the solve,
    /// <see cref="RunOutcome.Diverged"/> or <see cref="RunOutcome.Stagnated"/> when <see cref="ConvergenceTest"/> did; else null.
    /// </summary>
    public RunOutcome? CommandedOutcome { get; private set; }

    /// <summary>What ended the solve when a command or the convergence test did (for the result file), else null.</summary>
    public string? CommandMessage { get; private set; }

    /// <inheritdoc />
    public IterationStatus DetermineStatus(int iterationNumber, Vector<double> solutionVector, Vector<double> sourceVector, Vector<double> residualVector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterationNumber);
        if (_commanded != IterationStatus.Continue)
        {
            return _status = _commanded;
        }

        var newIteration = iterationNumber != _lastIteration;
        if (newIteration)
        {
            _lastIteration = iterationNumber;
            if (_host?.Intake is { } intake && ++_sinceCheck >= CommandCheckInterval)
            {
                _sinceCheck = 0;
                if (!intake.IsEmpty)
                {
                    ApplyNextCommand(intake, iterationNumber);
                    if (_commanded != IterationStatus.Continue)
                    {
                        return _status = _commanded;
                    }
                }
            }
        }

        if (!ReferenceEquals(sourceVector, _source))
        {
            _source = sourceVector;
            _sourceNorm = MaxAbs(sourceVector);
        }

        var residualNorm = MaxAbs(residualVector);
        var sourceNorm = _sourceNorm;
        LastResidual = sourceNorm > 0 ? residualNorm / sourceNorm : residualNorm;
        if (newIteration && _host is not null && iterationNumber >= _nextRecord)
        {
            Record(iterationNumber);
        }

        if (!double.IsFinite(residualNorm) || double.IsNaN(sourceNorm))
        {
            return _status = IterationStatus.Diverged;
        }

        if (newIteration && ConvergenceTest is { } test && AskTest(test, iterationNumber))
        {
            return _status = _commanded;
        }

        return _status = residualNorm < _tolerance * sourceNorm ? IterationStatus.Converged : IterationStatus.Continue;
    }

    /// <summary>Back to the state before a solve; the tolerance keeps its latest value (the user chose it).</summary>
    public void Reset()
    {
        _status = IterationStatus.Continue;
        _commanded = IterationStatus.Continue;
        _lastIteration = -1;
        _sinceCheck = 0;
        _source = null;
        _nextRecord = 0;
        _recording = false;
        LastResidual = double.NaN;
        CommandedOutcome = null;
        CommandMessage = null;
        ConvergenceTest?.Reset();
        if (_warning)
        {
            _warning = false;
            _host?.Live.RecordWarning(null);
        }
    }

    /// <summary>A fresh criterion with the same tolerance, services and cadence.</summary>
    public IIterationStopCriterion<double> Clone() =>
        new SteeringStopCriterion(_tolerance, _host, CommandCheckInterval) { ApplyCustomCommand = ApplyCustomCommand, ConvergenceTest = ConvergenceTest };

    /// <summary>Asks the test about this iteration; true when its verdict ends the solve (then <see cref="CommandedOutcome"/> says how).</summary>
    private bool AskTest(IConvergenceTest test, int iteration)
    {
        var verdict = test.Check(iteration, LastResidual, _tolerance);
        var warn = verdict == ConvergenceVerdict.NotConverging;
        if (warn != _warning)
        {
            _warning = warn;
            _host?.Live.RecordWarning(warn ? test.Reason : null);
        }

        (_commanded, CommandedOutcome) = verdict switch
        {
            ConvergenceVerdict.Diverged => (IterationStatus.Diverged, RunOutcome.Diverged),
            ConvergenceVerdict.Stagnated => (IterationStatus.StoppedWithoutConvergence, RunOutcome.Stagnated),
            _ => (IterationStatus.Continue, (RunOutcome?)null),
        };
        if (_commanded == IterationStatus.Continue)
        {
            return false;
        }

        CommandMessage = test.Reason;
        return true;
    }

    /// <summary>
    /// Applies the next waiting command by the rules every loop follows (<see cref="BuiltInCommands"/>): one per
    /// iteration; while more wait, the next iteration looks again whatever <see cref="CommandCheckInterval"/> says.
    /// </summary>
    private void ApplyNextCommand(CommandIntake intake, int iteration)
    {
        if (!intake.TryDequeue(out var pending))
        {
            return;
        }

        var oldTolerance = _tolerance;
        var effect = BuiltInCommands.Apply(pending.Command, pending.Sequence, iteration, this);
        RecordChange(pending, oldTolerance, effect, iteration);

        // The new tolerance is shown before the journal says "applied" (see SyncActions.ApplyNextCommand).
        if (pending.Command.Kind == CommandKind.ChangeTolerance && effect.Declined is null)
        {
            _host!.Live.RecordTolerance(_tolerance);
        }

        effect.Record(_host!.Journal, pending.Sequence, iteration, iteration);

        if (effect.Outcome is { } outcome)
        {
            _commanded = outcome == RunOutcome.Aborted ? IterationStatus.Cancelled : IterationStatus.StoppedWithoutConvergence;
            CommandedOutcome = outcome;
            CommandMessage = effect.Message;
        }
        else if (!intake.IsEmpty)
        {
            _sinceCheck = CommandCheckInterval;
        }
    }

    /// <summary>
    /// The record of changes (<see cref="ChangeRecord"/>): the tolerance old → new; a custom command with the value
    /// this run last set as the old one (a MathNet problem has no <c>SettingValue</c>) and its argument as the new.
    /// </summary>
    private void RecordChange(PendingCommand pending, double oldTolerance, CommandEffect effect, int iteration)
    {
        var command = pending.Command;
        if (effect.Declined is not null || command.Kind is not (CommandKind.ChangeTolerance or CommandKind.Custom))
        {
            return;
        }

        var (setting, old, now) = command.Kind == CommandKind.ChangeTolerance
            ? ("tolerance", Invariant(oldTolerance), Invariant(_tolerance))
            : (command.Name, null, command.Arguments);
        _host!.Live.Changes.Add(setting, old, now, iteration, iteration, DateTimeOffset.UtcNow, command.ClientId, pending.Sequence);
    }

    private static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    double ICommandTarget.Tolerance
    {
        get => Tolerance;
        set => Tolerance = value;
    }

    string? ICommandTarget.CheckpointsUnavailable => NoOwnState;

    string? ICommandTarget.RestartUnavailable => NoOwnState;

    bool ICommandTarget.HandlesCustomCommands => ApplyCustomCommand is not null;

    string? ICommandTarget.Checkpoint(string reason) => null;

    int ICommandTarget.Restart() => throw new NotSupportedException(NoOwnState);

    CheckpointRestore ICommandTarget.Restore(long? only) => throw new NotSupportedException(NoOwnState);

    string? ICommandTarget.PauseUnavailable => "a MathNet.Numerics solver runs its own loop, which cannot be held (run it under the control loop to pause)";

    string ICommandTarget.Pause(TimeSpan? duration) => throw new NotSupportedException("PAUSE is not available in the MathNet adapter");

    string? ICommandTarget.Resume() => throw new NotSupportedException("RESUME is not available in the MathNet adapter");

    void ICommandTarget.ApplyCustom(ControlCommand command) => ApplyCustomCommand!(command);

    /// <summary>
    /// <c>max|x|</c> without allocating for a dense vector (MathNet's <c>InfinityNorm</c> allocates a temporary of
    /// the vector's size per call here); the same value, exactly, and NaN if any element is NaN.
    /// </summary>
    private static double MaxAbs(Vector<double> vector)
    {
        if (vector.AsArray() is not { } values)
        {
            return vector.InfinityNorm();
        }

        var max = 0.0;
        foreach (var x in values)
        {
            var a = Math.Abs(x);
            if (a > max)
            {
                max = a;
            }
            else if (double.IsNaN(a))
            {
                return double.NaN;
            }
        }

        return max;
    }

    /// <summary>Hands progress to the status page and picks the next iteration to do so, about 10 ms on (<see cref="Cadence"/>).</summary>
    private void Record(int iteration)
    {
        _host!.Live.Record(iteration, iteration, LastResidual, _tolerance);
        var now = Stopwatch.GetTimestamp();
        if (!_recording)
        {
            _recording = true;
            _records.Start(iteration, now);
            _nextRecord = iteration + 1;
            return;
        }

        _nextRecord = (int)Math.Min(int.MaxValue, iteration + _records.Next(iteration, now));
    }

    private static void CheckTolerance(double tolerance)
    {
        if (!double.IsFinite(tolerance) || tolerance <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "The tolerance must be a positive finite number.");
        }
    }
}
