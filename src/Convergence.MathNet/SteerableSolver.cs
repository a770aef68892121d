using System.Diagnostics;
using System.Globalization;
using Convergence.Commands;
using Convergence.Control;
using Convergence.Criteria;
using Convergence.Hosting;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.MathNet;

/// <summary>
/// Runs any MathNet.Numerics iterative solver (<c>BiCgStab</c>, <c>GpBiCg</c>, <c>TFQMR</c>, <c>MlkBiCgStab</c>
/// or your own <see cref="IIterativeSolver{T}"/>) as a steerable job, without changing the solver: the same
/// notifications file, status page, result file and log as a <see cref="ControlLoop"/> job.
/// </summary>
/// <remarks>
/// MathNet owns the iteration loop, so the framework steps in through the one extension point the loop
/// consults every iteration, the <see cref="Iterator{T}"/>'s stop criteria: a <see cref="SteeringStopCriterion"/>
/// first (commands and the residual test), MathNet's <see cref="IterationCountStopCriterion{T}"/> for
/// <see cref="RunOptions.MaxIterations"/>, then <see cref="ExtraCriteria"/>. The first criterion that does not
/// say <see cref="IterationStatus.Continue"/> ends the solve. Single process: the solve runs on the calling
/// thread, the watcher and status reporter on background threads.
/// </remarks>
public sealed class SteerableSolver
{
    private readonly IIterativeSolver<double> _solver;
    private readonly RunOptions _options;
    private readonly JobLog _log;

    /// <summary>Wraps <paramref name="solver"/>; nothing runs until <see cref="Solve"/>.</summary>
    /// <param name="solver">The MathNet solver, used as it is.</param>
    /// <param name="options">Service folder, tolerance (relative to <c>max|b|</c>), iteration limit, intervals.</param>
    /// <param name="log">The job log.</param>
    public SteerableSolver(IIterativeSolver<double> solver, RunOptions options, JobLog log)
    {
        _solver = solver;
        _options = options;
        if (_options.RelativeTolerance)
        {
            throw new OptionsException("--relative-tolerance is not available for a MathNet.Numerics solve: its residual is already relative (max|r|/max|b|); give --tolerance as that ratio");
        }

        _log = log;
    }

    /// <summary>The solver's name on the status page and in the result; the solver's type name by default.</summary>
    public string? Name { get; init; }

    /// <summary>Commands the job adds to the protocol; each gets a control on the status page.</summary>
    public IReadOnlyList<CustomCommand> Commands { get; init; } = [];

    /// <summary>Applies a custom command between two iterations; required when <see cref="Commands"/> is not empty.</summary>
    public Action<ControlCommand>? ApplyCommand { get; init; }

    /// <summary>Further MathNet stop criteria, asked after the steering and iteration-count criteria.</summary>
    public IReadOnlyList<IIterationStopCriterion<double>> ExtraCriteria { get; init; } = [];

    /// <summary>Look for commands every this many iterations (default 1: a MathNet iteration costs far more than the look).</summary>
    public int CommandCheckInterval { get; init; } = 1;

    /// <summary>
    /// Extra <c>key=value</c> fields for the result file, computed from the final iterate (e.g. where it was
    /// saved). Called when the solve ends cleanly (converged, stopped, iteration limit); not after <c>ABORT</c> or a failure.
    /// </summary>
    public Func<Vector<double>, IEnumerable<(string Key, string Value)>>? ResultFields { get; init; }

    /// <summary>
    /// Solves <c>matrix · result = input</c> under the user's control, starting from the values in
    /// <paramref name="result"/>, and writes the status page and result file.
    /// </summary>
    /// <returns>How it ended; <paramref name="result"/> holds the last iterate (also after STOP or ABORT).</returns>
    /// <remarks>
    /// A MathNet <see cref="NumericalBreakdownException"/> is an outcome (<see cref="RunOutcome.Failed"/>), not a
    /// crash; any other exception is recorded as a FAILED result and rethrown.
    /// </remarks>
    public SteeredSolveResult Solve(Matrix<double> matrix, Vector<double> input, Vector<double> result, IPreconditioner<double>? preconditioner = null)
    {
        if (Commands.Count > 0 && ApplyCommand is null)
        {
            throw new InvalidOperationException("Custom commands are registered but ApplyCommand is not set.");
        }

        var name = Name ?? _solver.GetType().Name;
        using var host = ServiceHost.Start(_options, _log, name, Commands);
        try
        {
            var steering = new SteeringStopCriterion(_options.Tolerance, host, CommandCheckInterval)
            {
                ApplyCustomCommand = ApplyCommand,

                // The tolerance compare stays the criterion's own; the test adds divergence and stagnation.
                ConvergenceTest = ConvergenceTests.Combine(null, false, _options.DivergenceFactor, _options.Stagnation),
            };
            var limit = (int)Math.Min(_options.MaxIterations, int.MaxValue);
            var iterator = new Iterator<double>([steering, new IterationCountStopCriterion<double>(limit), .. ExtraCriteria]);
            string? breakdown = null;
            var started = Stopwatch.GetTimestamp();
            try
            {
                _solver.Solve(matrix, input, result, iterator, preconditioner ?? new UnitPreconditioner<double>());
            }
            catch (NumericalBreakdownException ex)
            {
                breakdown = $"{name} broke down at iteration {steering.Iteration} ({ex.Message}); try a preconditioner or another method";
            }

            var elapsed = Stopwatch.GetElapsedTime(started);

            // Judge the end by the true residual, not the solver's recurrence: it is what the user gets.
            var trueResidual = RelativeResidual(matrix, input, result);
            var outcome = breakdown is not null ? RunOutcome.Failed : OutcomeOf(iterator.Status, steering);
            var message = breakdown ?? steering.CommandMessage ?? DefaultMessage(outcome, iterator.Status, trueResidual, steering.LastResidual, steering.Tolerance);
            var run = new RunResult(outcome, steering.Iteration, steering.Iteration, trueResidual, steering.Tolerance, elapsed, 0, message);
            var fields = new List<(string, string)>
            {
                ("solver", name),
                ("unknowns", input.Count.ToString(CultureInfo.InvariantCulture)),
                ("residual_norm", "max|b-Ax|/max|b|"),
                ("solver_residual", steering.LastResidual.ToString("R", CultureInfo.InvariantCulture)),
                ("mathnet_status", iterator.Status.ToString()),
            };
            if (ResultFields is not null && outcome is RunOutcome.Converged or RunOutcome.Stopped or RunOutcome.IterationLimit or RunOutcome.Stagnated)
            {
                fields.AddRange(ResultFields(result));
            }

            host.Finish(run, fields);
            return new SteeredSolveResult(run, iterator.Status);
        }
        catch (Exception ex)
        {
            host.Fail($"{ex.GetType().Name}: {ex.Message}");
            throw;
        }
    }

    /// <summary><c>max|b - A·x| / max|b|</c> (the absolute value when <c>b</c> is zero).</summary>
    public static double RelativeResidual(Matrix<double> matrix, Vector<double> input, Vector<double> solution)
    {
        var residual = input - (matrix * solution);
        var scale = input.InfinityNorm();
        var norm = residual.InfinityNorm();
        return scale > 0 ? norm / scale : norm;
    }

    private static RunOutcome OutcomeOf(IterationStatus status, SteeringStopCriterion steering) => status switch
    {
        _ when steering.CommandedOutcome is { } commanded => commanded,
        IterationStatus.Converged => RunOutcome.Converged,
        IterationStatus.Diverged => RunOutcome.Diverged,
        IterationStatus.Cancelled => RunOutcome.Aborted,

        // Not from STOP (that is the commanded outcome above), so from the iteration count.
        IterationStatus.StoppedWithoutConvergence => RunOutcome.IterationLimit,
        _ => RunOutcome.Failed,
    };

    private static string DefaultMessage(RunOutcome outcome, IterationStatus status, double residual, double solverResidual, double tolerance) => outcome switch
    {
        // Some solvers (TFQMR) may stop on their recurrence residual; say so rather than claim the true one is below.
        RunOutcome.Converged when !(residual < tolerance) => FormattableString.Invariant(
            $"the solver's own residual {solverResidual:G6} is below tolerance {tolerance:G6}; the true residual is {residual:G6}"),
        RunOutcome.Converged => FormattableString.Invariant($"residual {residual:G6} below tolerance {tolerance:G6}"),
        RunOutcome.IterationLimit => FormattableString.Invariant($"iteration limit reached with residual {residual:G6}"),
        RunOutcome.Diverged => "the residual is not a finite number",
        RunOutcome.Aborted => "cancelled by a stop criterion",
        _ => $"the solver returned with status {status}",
    };
}
