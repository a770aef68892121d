using Convergence.Commands;
using Convergence.Solver;

namespace Convergence.Tests.Control;

/// <summary>A solver whose residual falls by a fixed factor per iteration: convergence is known exactly.</summary>
internal sealed class GeometricSolver(double start = 1.0, double factor = 0.5, Func<long, double>? residualAt = null) : IIterativeSolver
{
    private long _iteration;

    public string Name => "geometric";

    public int Initializations { get; private set; }

    public RunResult? Finished { get; private set; }

    public List<ControlCommand> Applied { get; } = [];

    public IReadOnlyList<CustomCommand> Commands { get; init; } = [];

    public ResidualNorm Norm { get; init; } = ResidualNorm.Sum;

    public Action<long>? OnIterate { get; init; }

    public void Initialize(SolverContext context)
    {
        Initializations++;
        _iteration = 0;
    }

    public double Iterate()
    {
        _iteration++;
        OnIterate?.Invoke(_iteration);
        return residualAt?.Invoke(_iteration) ?? start * Math.Pow(factor, _iteration);
    }

    public void Finish(RunResult result) => Finished = result;

    public void ApplyCommand(ControlCommand command) => Applied.Add(command);
}
