using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.MathNet;

/// <summary>
/// A stop criterion that never stops anything: it sleeps once per iteration, so that a small solve lasts
/// long enough to watch and steer (demos, tests). It changes nothing in the solver; add it through
/// <see cref="SteerableSolver.ExtraCriteria"/> or <see cref="MathNetProblem.ExtraCriteria"/>.
/// </summary>
public sealed class SlowDownCriterion : IIterationStopCriterion<double>
{
    private readonly TimeSpan _delay;
    private int _lastIteration = -1;

    /// <summary>Sleeps <paramref name="delay"/> per iteration.</summary>
    public SlowDownCriterion(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        _delay = delay;
    }

    /// <inheritdoc />
    public IterationStatus Status => IterationStatus.Continue;

    /// <inheritdoc />
    public IterationStatus DetermineStatus(int iterationNumber, Vector<double> solutionVector, Vector<double> sourceVector, Vector<double> residualVector)
    {
        // The solvers ask several times per iteration; sleep on the first ask of each.
        if (iterationNumber != _lastIteration)
        {
            _lastIteration = iterationNumber;
            Thread.Sleep(_delay);
        }

        return IterationStatus.Continue;
    }

    /// <inheritdoc />
    public void Reset() => _lastIteration = -1;

    /// <inheritdoc />
    public IIterationStopCriterion<double> Clone() => new SlowDownCriterion(_delay);
}
