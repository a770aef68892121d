using Convergence.Solver;

namespace Convergence.Benchmarks;

/// <summary>
/// A solver whose iteration is a couple of floating-point operations, so that whatever the loop around it
/// costs is what the benchmark sees. Its residual settles at 2 and never meets the tolerance: every run
/// ends at the iteration limit.
/// </summary>
internal sealed class TrivialSolver : IIterativeSolver
{
    private double _x;

    public string Name => "trivial";

    public void Initialize(SolverContext context) => _x = 0;

    public double Iterate()
    {
        _x = (_x * 0.5) + 1.0;
        return _x;
    }

    public void Finish(RunResult result)
    {
    }
}
