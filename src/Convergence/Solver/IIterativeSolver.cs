using Convergence.Commands;
using Convergence.Criteria;

namespace Convergence.Solver;

/// <summary>
/// The one interface a solver author implements: a rank's share of an iterative method. The framework
/// runs the loop, reduces the residual, applies commands at iteration boundaries and decides when to stop.
/// </summary>
/// <remarks>
/// Every method is called on every rank, from the thread that runs the control loop, at the same
/// iteration on every rank. <see cref="Iterate"/> is the hot path: it may communicate with other ranks
/// (halo exchange) but must not touch the service folder.
/// </remarks>
public interface IIterativeSolver
{
    /// <summary>A short name for the log, the status page and the result file.</summary>
    string Name { get; }

    /// <summary>How local residual contributions combine; <see cref="ResidualNorm.L2"/> unless overridden.</summary>
    ResidualNorm Norm => ResidualNorm.L2;

    /// <summary>
    /// The solver's own convergence test, replacing <c>residual &lt; tolerance</c> (the options' divergence and
    /// stagnation tests are still added); null for the default. Read once per run on every rank, after the
    /// first <see cref="Initialize"/>; every rank must return an equivalent fresh instance (see
    /// <see cref="IConvergenceTest"/>).
    /// </summary>
    IConvergenceTest? ConvergenceTest => null;

    /// <summary>Commands this solver understands in addition to the built-in ones.</summary>
    IReadOnlyList<CustomCommand> Commands => [];

    /// <summary>Sets up this rank's initial state; called at start and again on <c>RESTART</c>.</summary>
    void Initialize(SolverContext context);

    /// <summary>Performs one iteration and returns this rank's residual contribution (see <see cref="Norm"/>).</summary>
    double Iterate();

    /// <summary>
    /// Called on every rank when the run ends cleanly (converged, stopped, iteration limit, stagnated), before the
    /// result is written; not called after <c>ABORT</c> or a failure.
    /// </summary>
    void Finish(RunResult result);

    /// <summary>
    /// Extra <c>key=value</c> fields for <c>result.txt</c> (e.g. where the solution was written); read on
    /// rank 0 after <see cref="Finish"/>. Keys: lower case, letters, digits and underscores.
    /// </summary>
    IEnumerable<(string Key, string Value)> ResultFields => [];

    /// <summary>
    /// The current value of the setting that the custom command <paramref name="commandName"/> changes, as text
    /// (e.g. <c>1.5</c> for <c>RELAXATION</c>); null when the solver does not report it. Rank 0 asks just before
    /// and just after <see cref="ApplyCommand"/>, so the record of changes shows old → new; without it the old
    /// value is the one this run last set (or "not reported" before the first change) and the new one the argument.
    /// Must not communicate or change anything.
    /// </summary>
    string? SettingValue(string commandName) => null;

    /// <summary>Applies a custom command on every rank at the same boundary; it was validated on rank 0.</summary>
    void ApplyCommand(ControlCommand command) =>
        throw new NotSupportedException($"Solver '{Name}' registered '{command.Name}' but does not apply it.");
}
