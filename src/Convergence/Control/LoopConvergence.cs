using System.Runtime.CompilerServices;
using Convergence.Criteria;
using Convergence.Solver;
using Convergence.Status;

namespace Convergence.Control;

/// <summary>
/// The loop's convergence decision: the default compare, or the run's <see cref="IConvergenceTest"/> asked
/// exactly once per iteration with the reduced residual, on every rank alike.
/// </summary>
/// <remarks>
/// The test's inputs are global values only, so every rank's test history (best residual, window) is the
/// same and every rank ends at the same iteration. Rank 0 (with <c>live</c>) shows the test's "not
/// converging" warning while the test gives one. Not thread-safe: the loop's thread.
/// </remarks>
internal sealed class LoopConvergence
{
    private readonly LiveStatus? _live;
    private ConvergenceVerdict _verdict;
    private bool _warning;

    /// <summary>Wraps <paramref name="test"/> (null: the default inline compare).</summary>
    public LoopConvergence(IConvergenceTest? test, LiveStatus? live)
    {
        Test = test;
        _live = live;
    }

    /// <summary>The configured test; null for the default, which stays inline in the loop (<see cref="InlineEnd"/>).</summary>
    public IConvergenceTest? Test { get; }

    /// <summary>Why the test ended the run, when it did; else null.</summary>
    public string? Reason { get; private set; }

    /// <summary>Asks the test about one iteration; true when it ends the run.</summary>
    public bool Evaluate(long iteration, double residual, double tolerance)
    {
        _verdict = Test!.Check(iteration, residual, tolerance);
        var warn = _verdict == ConvergenceVerdict.NotConverging;
        if (warn != _warning)
        {
            _warning = warn;
            _live?.RecordWarning(warn ? Test.Reason : null);
        }

        return _verdict is ConvergenceVerdict.Converged or ConvergenceVerdict.Diverged or ConvergenceVerdict.Stagnated;
    }

    /// <summary>At a restart or a restore: the test's history starts again.</summary>
    public void Reset()
    {
        if (Test is null)
        {
            return;
        }

        Test.Reset();
        _verdict = ConvergenceVerdict.Continue;
        if (_warning)
        {
            _warning = false;
            _live?.RecordWarning(null);
        }
    }

    /// <summary>
    /// The end of the run for the iteration in <paramref name="state"/>, or null. <paramref name="evaluated"/>
    /// says the stretch has already asked the test about this iteration.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RunOutcome? Judge(ControlLoopState state, long maxIterations, bool evaluated)
    {
        // The default compare stays small enough to inline into the loop's sync path.
        if (Test is null)
        {
            var residual = state.Residual;
            return residual < state.Tolerance ? RunOutcome.Converged
                : !double.IsFinite(residual) ? RunOutcome.Diverged
                : state.Iteration >= maxIterations ? RunOutcome.IterationLimit : null;
        }

        return JudgeWithTest(state, maxIterations, evaluated);
    }

    private RunOutcome? JudgeWithTest(ControlLoopState state, long maxIterations, bool evaluated)
    {
        if (!double.IsFinite(state.Residual))
        {
            return RunOutcome.Diverged;
        }

        if (!evaluated)
        {
            Evaluate(state.Iteration, state.Residual, state.Tolerance);
        }

        RunOutcome? outcome = _verdict switch
        {
            ConvergenceVerdict.Converged => RunOutcome.Converged,
            ConvergenceVerdict.Diverged => RunOutcome.Diverged,
            ConvergenceVerdict.Stagnated => RunOutcome.Stagnated,
            _ => null,
        };
        Reason = outcome is null ? null : Test!.Reason;
        return outcome ?? (state.Iteration >= maxIterations ? RunOutcome.IterationLimit : null);
    }
}
