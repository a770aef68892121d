using Convergence.Control;
using Convergence.Coordination;
using Convergence.Criteria;
using Convergence.Options;
using Convergence.Solver;
using Convergence.Tests.Control;

namespace Convergence.Tests.Criteria;

/// <summary>The built-in convergence tests, their composition, their options and the loop's use of them.</summary>
public sealed class ConvergenceTestTests
{
    [Fact]
    public void AbsoluteTolerance_ConvergesStrictlyBelowTheTolerance()
    {
        var test = new ToleranceTest(relative: false);
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(1, 1e-3, 1e-3));
        Assert.Equal(ConvergenceVerdict.Converged, test.Check(2, 9.99e-4, 1e-3));
        Assert.Contains("below tolerance 0.001", test.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RelativeTolerance_IsMeasuredAgainstTheFirstResidual_AndResetRebases()
    {
        var test = new ToleranceTest(relative: true);
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(1, 100, 1e-3));
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(2, 0.2, 1e-3));
        Assert.Equal(ConvergenceVerdict.Converged, test.Check(3, 0.09, 1e-3));
        test.Reset();
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(1, 0.05, 1e-3));
        Assert.Equal(ConvergenceVerdict.Converged, test.Check(2, 4.9e-5, 1e-3));
    }

    [Fact]
    public void Divergence_TriggersAboveTheFactorTimesTheBest_NotTheFirst()
    {
        var test = new DivergenceTest(10);
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(1, 5, 1e-6));
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(2, 1, 1e-6));
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(3, 9.9, 1e-6));
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(4, 10, 1e-6));
        Assert.Equal(ConvergenceVerdict.Diverged, test.Check(5, 10.1, 1e-6));
        Assert.Contains("iteration 5", test.Reason, StringComparison.Ordinal);
        test.Reset();
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(1, 50, 1e-6));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    public void Divergence_RejectsAFactorNotAboveOne(double factor) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DivergenceTest(factor));

    [Fact]
    public void Stagnation_NeverTriggersWhileTheResidualFallsFasterThanTheFraction()
    {
        // 0.5% per iteration is 5% over a window of 10, above the 1% asked for.
        var test = new StagnationTest(new StagnationRule(10, 0.01, false));
        for (var i = 1; i <= 10_000; i++)
        {
            Assert.Equal(ConvergenceVerdict.Continue, test.Check(i, Math.Pow(0.995, i), 1e-300));
        }
    }

    [Fact]
    public void Stagnation_TriggersOneWindowAfterTheResidualFloors()
    {
        // Falls by half until iteration 20, then flat at 0.5^20: the best of iteration 20 is the best one
        // window (10 iterations) later, at iteration 30, so 30 is the first stagnated iteration.
        var test = new StagnationTest(new StagnationRule(10, 0.01, false));
        var stagnatedAt = 0L;
        for (var i = 1; i <= 100 && stagnatedAt == 0; i++)
        {
            if (test.Check(i, Math.Pow(0.5, Math.Min(i, 20)), 1e-300) == ConvergenceVerdict.Stagnated)
            {
                stagnatedAt = i;
            }
        }

        Assert.Equal(30, stagnatedAt);
        Assert.Contains("not converging at this rate", test.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Stagnation_CountsOnlyImprovementsOfTheBest_NotOscillation()
    {
        // Oscillating between 1 and 2 never improves the best (1): stagnated at iteration window + 1.
        var test = new StagnationTest(new StagnationRule(4, 0.01, false));
        var verdicts = Enumerable.Range(1, 5).Select(i => test.Check(i, i % 2 == 0 ? 2 : 1, 1e-9)).ToArray();
        Assert.Equal([ConvergenceVerdict.Continue, ConvergenceVerdict.Continue, ConvergenceVerdict.Continue, ConvergenceVerdict.Continue, ConvergenceVerdict.Stagnated], verdicts);
    }

    [Fact]
    public void Stagnation_InWarnMode_WarnsWhileFlat_AndStopsWarningWhenTheResidualFallsAgain()
    {
        var test = new StagnationTest(new StagnationRule(5, 0.1, true));
        var verdicts = new List<ConvergenceVerdict>();
        for (var i = 1; i <= 30; i++)
        {
            // Flat for iterations 1..15, then halving.
            verdicts.Add(test.Check(i, i <= 15 ? 1 : Math.Pow(0.5, i - 15), 1e-300));
        }

        Assert.DoesNotContain(ConvergenceVerdict.Stagnated, verdicts);
        Assert.Equal(ConvergenceVerdict.NotConverging, verdicts[5]);
        Assert.Equal(ConvergenceVerdict.NotConverging, verdicts[14]);
        Assert.Equal(ConvergenceVerdict.Continue, verdicts[15]);
        Assert.Equal(ConvergenceVerdict.Continue, verdicts[29]);
    }

    [Fact]
    public void Stagnation_ResetStartsTheWindowAgain()
    {
        var test = new StagnationTest(new StagnationRule(3, 0.5, false));
        for (var i = 1; i <= 3; i++)
        {
            test.Check(i, 1, 1e-9);
        }

        test.Reset();
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(1, 1, 1e-9));
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(2, 1, 1e-9));
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(3, 1, 1e-9));
        Assert.Equal(ConvergenceVerdict.Stagnated, test.Check(4, 1, 1e-9));
    }

    [Fact]
    public void Composite_TheFirstEndingVerdictWins_AndEveryTestSeesEveryIteration()
    {
        var divergence = new DivergenceTest(2);
        var test = new CompositeConvergenceTest(new ToleranceTest(false), divergence, new StagnationTest(new StagnationRule(2, 0.5, true)));
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(1, 1, 1e-3));
        Assert.Equal(ConvergenceVerdict.Continue, test.Check(2, 0.9, 1e-3));
        Assert.Equal(ConvergenceVerdict.NotConverging, test.Check(3, 0.8, 1e-3));
        Assert.Equal(ConvergenceVerdict.Diverged, test.Check(4, 1.7, 1e-3));
        Assert.Equal(divergence.Reason, test.Reason);
        Assert.Equal(ConvergenceVerdict.Converged, test.Check(5, 1e-4, 1e-3));
    }

    [Theory]
    [InlineData("200:0.01", 200, 0.01, false)]
    [InlineData(" 500:1e-3:warn ", 500, 1e-3, true)]
    [InlineData("2:0.5:WARN", 2, 0.5, true)]
    public void StagnationRule_ParsesWindowFractionAndMode(string text, int window, double fraction, bool warn) =>
        Assert.Equal(new StagnationRule(window, fraction, warn), StagnationRule.Parse(text));

    [Theory]
    [InlineData("200")]
    [InlineData("1:0.01")]
    [InlineData("200:0")]
    [InlineData("200:1")]
    [InlineData("200:0.01:loud")]
    [InlineData("x:0.01")]
    [InlineData("2000000:0.01")]
    public void StagnationRule_RejectsBadText_WithTheExpectedForm(string text)
    {
        var error = Assert.Throws<FormatException>(() => StagnationRule.Parse(text));
        Assert.Contains("200:0.01", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_SelectTheTests_AndRejectBadValuesInOneLine()
    {
        var options = RunOptions.Parse(["--divergence-factor", "1e3", "--stagnation=50:0.001:warn", "--relative-tolerance"], out var rest);
        Assert.Empty(rest);
        Assert.Equal(1e3, options.DivergenceFactor);
        Assert.Equal(new StagnationRule(50, 0.001, true), options.Stagnation);
        Assert.True(options.RelativeTolerance);
        Assert.Contains("tolerance-kind=relative divergence-factor=1000 stagnation=50:0.001:warn", options.Describe(), StringComparison.Ordinal);

        var defaults = RunOptions.Parse([], out _, environment: _ => null);
        Assert.Null(ConvergenceTests.Combine(null, defaults.RelativeTolerance, defaults.DivergenceFactor, defaults.Stagnation));

        var bad = Assert.Throws<OptionsException>(() => RunOptions.Parse(["--divergence-factor", "1"], out _, environment: _ => null));
        Assert.Contains("--divergence-factor must be a finite number above 1", bad.Message, StringComparison.Ordinal);
        var badStagnation = Assert.Throws<OptionsException>(() => RunOptions.Parse(["--stagnation", "ten"], out _, environment: _ => null));
        Assert.StartsWith("option --stagnation: 'ten' is not WINDOW:FRACTION[:warn]", badStagnation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("adaptive")]
    [InlineData("every:7")]
    [InlineData("piggyback")]
    public void Loop_EndsStagnated_AtTheSameIterationWhateverTheCadence(string sync)
    {
        // Halving until iteration 20, then flat: window 10 → stagnated at iteration 30 (see above), exit code 6.
        var solver = new GeometricSolver(residualAt: i => Math.Pow(0.5, Math.Min(i, 20)));
        var options = Options(sync) with { Stagnation = new StagnationRule(10, 0.01, false) };
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), options, null).Run();

        Assert.Equal(RunOutcome.Stagnated, result.Outcome);
        Assert.Equal(30, result.Iteration);
        Assert.Equal(ExitCodes.Stagnated, result.ExitCode);
        Assert.Contains("not converging at this rate", result.Message, StringComparison.Ordinal);
        Assert.Same(result, solver.Finished);
    }

    [Theory]
    [InlineData("every:1")]
    [InlineData("every:7")]
    [InlineData("piggyback")]
    public void Loop_EndsDiverged_WhenTheResidualGrowsPastTheFactor(string sync)
    {
        // Best 0.5^5 at iteration 5, then doubling: 0.5^5 * 2^k > 100 * 0.5^5 first at k = 7 (iteration 12).
        var solver = new GeometricSolver(residualAt: i => i <= 5 ? Math.Pow(0.5, i) : Math.Pow(0.5, 5) * Math.Pow(2, i - 5));
        var options = Options(sync) with { DivergenceFactor = 100 };
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), options, null).Run();

        Assert.Equal(RunOutcome.Diverged, result.Outcome);
        Assert.Equal(12, result.Iteration);
        Assert.Contains("--divergence-factor", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Loop_UsesTheSolversOwnTest_InPlaceOfTheTolerance()
    {
        var solver = new TestedSolver(new ToleranceTest(relative: true));
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options("every:3") with { Tolerance = 0.01 }, null).Run();

        // Residual 8 * 0.5^i: relative to the first (4), below 0.04 first at i = 8 (0.03125).
        Assert.Equal(RunOutcome.Converged, result.Outcome);
        Assert.Equal(8, result.Iteration);
        Assert.Contains("relative to the first residual", result.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("every:1")]
    [InlineData("every:4")]
    public void MaxNorm_ANaNLocalMaximumEndsDivergedWithAnInfiniteResidual(string sync)
    {
        // The NaN enters MPI_MAX as +∞ (ordered, so every rank agrees); see MaxOperand in ControlLoop.
        var solver = new GeometricSolver(residualAt: i => i < 6 ? 1 : double.NaN) { Norm = ResidualNorm.Max };
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(sync), null).Run();

        Assert.Equal(RunOutcome.Diverged, result.Outcome);
        Assert.Equal(6, result.Iteration);
        Assert.Equal(double.PositiveInfinity, result.Residual);
    }

    private static RunOptions Options(string sync) =>
        new RunOptions { Tolerance = 1e-12, MaxIterations = 1_000, Sync = SyncPolicy.Parse(sync), ServiceDirectory = "/nonexistent" };

    private sealed class TestedSolver(IConvergenceTest test) : IIterativeSolver
    {
        private long _iteration;

        public string Name => "tested";

        public ResidualNorm Norm => ResidualNorm.Sum;

        public IConvergenceTest? ConvergenceTest => test;

        public void Initialize(SolverContext context) => _iteration = 0;

        public double Iterate() => 8 * Math.Pow(0.5, ++_iteration);

        public void Finish(RunResult result)
        {
        }
    }
}
