namespace Convergence.Criteria;

/// <summary>Builds the run's convergence test from the solver's own and the framework options.</summary>
public static class ConvergenceTests
{
    /// <summary>
    /// The test the loop asks at every iteration, or null for the default (<c>residual &lt; tolerance</c>),
    /// which the loop keeps inline on its fast path.
    /// </summary>
    /// <param name="solverTest">The solver's own test; it replaces the tolerance test.</param>
    /// <param name="relativeTolerance">The tolerance is relative to the first residual (<c>--relative-tolerance</c>).</param>
    /// <param name="divergenceFactor">Diverged above this times the best residual (<c>--divergence-factor</c>); none when null.</param>
    /// <param name="stagnation">The stagnation rule (<c>--stagnation</c>); none when null.</param>
    public static IConvergenceTest? Combine(IConvergenceTest? solverTest, bool relativeTolerance, double? divergenceFactor, StagnationRule? stagnation)
    {
        if (solverTest is null && !relativeTolerance && divergenceFactor is null && stagnation is null)
        {
            return null;
        }

        var tests = new List<IConvergenceTest> { solverTest ?? new ToleranceTest(relativeTolerance) };
        if (divergenceFactor is { } factor)
        {
            tests.Add(new DivergenceTest(factor));
        }

        if (stagnation is not null)
        {
            tests.Add(new StagnationTest(stagnation));
        }

        return tests.Count == 1 ? tests[0] : new CompositeConvergenceTest([.. tests]);
    }
}
