using Convergence.Commands;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.MathNet;

/// <summary>What a MathNet job solves and how; built by the job's factory from its command line.</summary>
/// <param name="Name">The solver's name for the status page and the result.</param>
/// <param name="Matrix">The system matrix (sparse or dense).</param>
/// <param name="Rhs">The right-hand side <c>b</c>.</param>
/// <param name="Solver">The MathNet iterative solver, e.g. <c>new BiCgStab()</c>.</param>
public sealed record MathNetProblem(string Name, Matrix<double> Matrix, Vector<double> Rhs, IIterativeSolver<double> Solver)
{
    /// <summary>The preconditioner; none (the unit preconditioner) when null.</summary>
    public IPreconditioner<double>? Preconditioner { get; init; }

    /// <summary>The starting guess; zero when null. It is overwritten with the solution.</summary>
    public Vector<double>? InitialGuess { get; init; }

    /// <summary>Commands the job adds to the protocol.</summary>
    public IReadOnlyList<CustomCommand> Commands { get; init; } = [];

    /// <summary>Applies a custom command between two iterations.</summary>
    public Action<ControlCommand>? ApplyCommand { get; init; }

    /// <summary>Further MathNet stop criteria (asked after the steering and iteration-count criteria).</summary>
    public IReadOnlyList<IIterationStopCriterion<double>> ExtraCriteria { get; init; } = [];

    /// <summary>Called with the final iterate when the solve ends cleanly (converged, stopped, iteration limit; not after <c>ABORT</c> or a failure); returns extra result fields (e.g. an output file).</summary>
    public Func<Vector<double>, IEnumerable<(string Key, string Value)>>? OnSolved { get; init; }
}
