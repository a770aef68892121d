using Convergence.Criteria;
using Convergence.MathNet;
using Convergence.Solver;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.Tests.MathNet;

/// <summary>The MathNet adapter asks the run's convergence test once per iteration, as the control loop does.</summary>
public sealed class SteeringConvergenceTestTests
{
    private static readonly Vector<double> Source = Vector<double>.Build.Dense(3, 1.0);

    [Fact]
    public void ADivergingResidual_EndsDiverged_AndStaysSoForTheSameIteration()
    {
        var criterion = new SteeringStopCriterion(1e-12) { ConvergenceTest = ConvergenceTests.Combine(null, false, 100, null) };

        Assert.Equal(IterationStatus.Continue, Ask(criterion, 0, 1.0));
        Assert.Equal(IterationStatus.Continue, Ask(criterion, 1, 0.5));
        Assert.Equal(IterationStatus.Diverged, Ask(criterion, 2, 60.0));

        // MathNet asks again for the same iteration (with the true residual): the verdict holds.
        Assert.Equal(IterationStatus.Diverged, Ask(criterion, 2, 0.1));
        Assert.Equal(RunOutcome.Diverged, criterion.CommandedOutcome);
        Assert.Contains("100", criterion.CommandMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Stagnation_CountsIterations_NotCalls()
    {
        var criterion = new SteeringStopCriterion(1e-12) { ConvergenceTest = ConvergenceTests.Combine(null, false, null, new StagnationRule(3, 0.5, false)) };

        // Three calls per iteration, the residual halving exactly every iteration: never "less than half
        // below the best three iterations earlier", so it goes on; a test asked per call would see no progress.
        var residual = 1.0;
        for (var iteration = 0; iteration < 10; iteration++, residual /= 2)
        {
            for (var call = 0; call < 3; call++)
            {
                Assert.Equal(IterationStatus.Continue, Ask(criterion, iteration, residual));
            }
        }

        // Then the residual stays at 2^-10 (iteration 10 still halves it): the first iteration whose best is
        // not below half the best of three iterations earlier (2^-9, at iteration 9) is 12.
        var status = IterationStatus.Continue;
        var at = 10;
        for (; status == IterationStatus.Continue && at < 20; at++)
        {
            status = Ask(criterion, at, residual);
        }

        Assert.Equal(IterationStatus.StoppedWithoutConvergence, status);
        Assert.Equal(RunOutcome.Stagnated, criterion.CommandedOutcome);
        Assert.Equal(12, at - 1);
        Assert.StartsWith("not converging at this rate", criterion.CommandMessage, StringComparison.Ordinal);

        criterion.Reset();
        Assert.Null(criterion.CommandedOutcome);
        Assert.Equal(IterationStatus.Continue, Ask(criterion, 0, 1.0));
    }

    private static IterationStatus Ask(SteeringStopCriterion criterion, int iteration, double residual)
    {
        var r = Vector<double>.Build.Dense(3, residual);
        return criterion.DetermineStatus(iteration, r, Source, r);
    }
}
