namespace Convergence.Criteria;

/// <summary>
/// Decides, from one iteration's global residual, whether the run goes on. The framework's default is
/// <c>residual &lt; tolerance</c>; a solver can supply its own (<see cref="Solver.IIterativeSolver.ConvergenceTest"/>)
/// and the options add the built-ins (<see cref="ToleranceTest"/>, <see cref="DivergenceTest"/>,
/// <see cref="StagnationTest"/>).
/// </summary>
/// <remarks>
/// Every rank holds its own instance and calls <see cref="Check"/> once per iteration with the same globally
/// reduced values, without any collective in between: for every rank to end at the same iteration the test
/// must depend on these inputs only (no clock, no rank-local data, no randomness) and update its history
/// from them only. It never sees a NaN or infinite residual: the framework ends such a run as
/// <c>DIVERGED</c> before asking. Called on the thread that runs the loop; not thread-safe; allocate in the
/// constructor, not in <see cref="Check"/> (it runs at every iteration).
/// </remarks>
public interface IConvergenceTest
{
    /// <summary>Judges one iteration.</summary>
    /// <param name="iteration">Iterations since the last (re)start, from 1.</param>
    /// <param name="residual">The global residual of that iteration (finite, identical on every rank).</param>
    /// <param name="tolerance">The tolerance in force (it can change with <c>CHANGE_TOLERANCE</c>).</param>
    ConvergenceVerdict Check(long iteration, double residual, double tolerance);

    /// <summary>Forgets the history: called on every rank at a restart and a restore from a checkpoint.</summary>
    void Reset();

    /// <summary>Why the last verdict other than <see cref="ConvergenceVerdict.Continue"/> was given, for the result and the log.</summary>
    string Reason { get; }
}
