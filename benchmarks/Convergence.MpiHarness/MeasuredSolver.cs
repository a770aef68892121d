using System.Diagnostics;
using Convergence.Commands;
using Convergence.Solver;

namespace Convergence.MpiHarness;

/// <summary>
/// Wraps the solver to time exactly the iterations: from the end of <see cref="Initialize"/> (set-up work
/// such as the right-hand side is not what is compared) to the start of <see cref="Finish"/> (the error
/// against the exact solution is not either). Every variant, controlled or not, runs through it.
/// It also never converges: the Jacobi iteration on a small grid reaches its discrete fixed point (a
/// residual of exactly 0) after some 27,000 iterations, and a run must end at its fixed count or by a
/// command, never by convergence. One addition per iteration, the same in every variant.
/// </summary>
internal sealed class MeasuredSolver(IIterativeSolver inner) : IIterativeSolver
{
    private long _start;
    private long _end;

    public string Name => inner.Name;

    public ResidualNorm Norm => inner.Norm;

    public IReadOnlyList<CustomCommand> Commands => inner.Commands;

    /// <summary>Seconds from the end of the last initialisation to the end of the last iteration.</summary>
    public double ElapsedSeconds => (double)(_end - _start) / Stopwatch.Frequency;

    public void Initialize(SolverContext context)
    {
        inner.Initialize(context);
        _start = Stopwatch.GetTimestamp();
    }

    public double Iterate() => inner.Iterate() + 1.0;

    /// <summary>Marks the end of the timed iterations; the uncontrolled loops call it directly.</summary>
    public void Stop() => _end = Stopwatch.GetTimestamp();

    public void Finish(RunResult result) => Stop();

    public void ApplyCommand(ControlCommand command) => inner.ApplyCommand(command);
}
