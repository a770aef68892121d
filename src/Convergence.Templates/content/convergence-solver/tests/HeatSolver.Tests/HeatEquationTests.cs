using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Journal;
using Convergence.Mpi;
using Convergence.Solver;
using Convergence.Testing;

namespace HeatSolver.Tests;

/// <summary>
/// The solver in one process (the framework's single-process coordinator and the test kit, Convergence.Testing, run the
/// real loop) and on 1 and 3 ranks under mpirun (the kit's MpiHarness) for the halo exchange.
/// </summary>
public sealed class HeatEquationTests : IDisposable
{
    private readonly string _service = Path.Combine(Path.GetTempPath(), "HeatSolver.Tests-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void ASmallGridConvergesAndWritesTheResult()
    {
        var code = ConvergenceJob.Run(
            ["--service", _service, "--n", "16", "--tolerance", "1e-6", "--status-ms", "100"],
            new SingleProcessCoordinator(),
            HeatOptions.Table,
            (setup, options) => new HeatEquation(options, setup.Rank, setup.Size));

        Assert.Equal(ExitCodes.Success, code);
        var result = File.ReadAllText(Path.Combine(_service, "result.txt"));
        Assert.StartsWith("outcome=CONVERGED", result, StringComparison.Ordinal);
        Assert.Contains("grid=16x16", result, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTemperatureScalesWithTheSource()
    {
        // -Δu = q is linear in q, so doubling the source doubles the solution.
        var once = Solve(source: 1);
        var twice = Solve(source: 2);

        Assert.Equal(2 * once, twice, 1e-6);

        // The maximum of -Δu = 1 on the unit square with u = 0 on the boundary is about 0.0737.
        Assert.InRange(once, 0.070, 0.075);
    }

    [Fact]
    public void TheFieldIsDeclaredAsOneGlobalArrayThatTheRanksTileWithoutOverlap()
    {
        // The framework saves the declared field itself (and loads it on any rank count); three ranks' slices
        // must cover the 12 x 14 array exactly once, in rank order.
        var options = new HeatOptions { N = 12 };
        var slices = Enumerable.Range(0, 3).Select(r => Assert.Single(new HeatEquation(options, r, 3).CheckpointArrays)).ToList();

        Assert.All(slices, a => Assert.Equal("u double 12x14", a.Describe()));
        Assert.Equal([0L, 56, 112], slices.Select(a => a.Offset));
        Assert.Equal(12 * 14, slices.Sum(a => a.Count));
    }

    [Fact]
    public void TheSourceCommandAndARollBackAreAppliedAtTheirIterationsThroughTheRealLoop()
    {
        // The harness sends each line after its iteration, as the portal would append it to notifications.txt.
        var run = SolverHarness.Run(
            new HeatEquation(new HeatOptions { N = 12 }, 0, 1),
            [(10, "CHECKPOINT"), (20, "SOURCE 2"), (30, "RESTART checkpoint"), (40, "STOP")],
            TestRunOptions.Create() with { Tolerance = 1e-14 });

        Assert.Equal(RunOutcome.Stopped, run.Result.Outcome);
        Assert.Equal([10L, 20, 30, 40], run.Journal.Select(e => e.AppliedTotalIteration ?? -1));
        Assert.All(run.Journal, e => Assert.Equal(JournalState.Applied, e.State));

        // The new source makes the residual jump; the roll-back restores the state after iteration 10 (source 1).
        Assert.True(run.Residuals[20].Residual > run.Residuals[19].Residual);
        Assert.Equal(run.Residuals[10].Residual, run.Residuals[30].Residual);
    }

    [Fact]
    public async Task TheHaloExchangeGivesTheSameAnswerOnOneAndOnThreeRanks()
    {
        // Real mpirun.mpich jobs (mpirun.openmpi with MpiFamily.OpenMpi), the same script on each: a wrong halo
        // exchange is right on one rank (no neighbours) and shows only when the grid is split.
        (long, string)[] script = [(15, "SOURCE 2"), (30, "STOP")];
        var one = await MpiHarness.RunAsync<SmallGrid>(ranks: 1, MpiFamily.MpichAbi, script);
        var three = await MpiHarness.RunAsync<SmallGrid>(ranks: 3, MpiFamily.MpichAbi, script);

        Assert.All(three.Ranks, r => Assert.Equal((RunOutcome.Stopped, 30L), (r.Result.Outcome, r.Result.TotalIterations)));
        Assert.Equal(15, Assert.Single(three.Journal, e => e.Text == "SOURCE 2").AppliedTotalIteration);
        Assert.Equal(one.Residuals.Count, three.Residuals.Count);
        for (var i = 0; i < one.Residuals.Count; i++)
        {
            // The same residual after every iteration, up to the order in which the ranks' sums are added.
            Assert.Equal(one.Residuals[i].Residual, three.Residuals[i].Residual, 1e-12 * one.Residuals[i].Residual);
        }

        Assert.Equal(Number(one.Ranks[0].Field("max_temperature")), Number(three.Ranks[2].Field("max_temperature")), 1e-12);
    }

    [Fact]
    public void TheSourceCommandIsValidatedAsTheJobValidatesIt()
    {
        var solver = new HeatEquation(new HeatOptions { N = 12 }, 0, 1);
        solver.Initialize(TestSolverContext.Create());

        solver.ApplyCommand(TestCommands.Parse("SOURCE 3", solver.Commands));

        Assert.Equal(3, solver.Source);

        // The declared range [0, 1e6], checked as rank 0 checks it in a running job.
        var refused = Assert.Throws<ArgumentException>(() => TestCommands.Parse("SOURCE -1", solver.Commands));
        Assert.Contains("SOURCE: -1 is out of range [0, 1000000]", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadOptionIsAUsageError()
    {
        var code = ConvergenceJob.Run(
            ["--service", _service, "--n", "two"],
            new SingleProcessCoordinator(),
            HeatOptions.Table,
            (setup, options) => new HeatEquation(options, setup.Rank, setup.Size));

        Assert.Equal(ExitCodes.Usage, code);
    }

    public void Dispose()
    {
        if (Directory.Exists(_service))
        {
            Directory.Delete(_service, recursive: true);
        }
    }

    /// <summary>Builds each rank's solver in MpiHarness's jobs (each rank is a process of this test assembly).</summary>
    internal sealed class SmallGrid : IRankSolverFactory
    {
        public IIterativeSolver Create(JobSetup setup) =>
            new HeatEquation(HeatOptions.Table.ParseAll(setup.SolverArguments, new HeatOptions { N = 12 }), setup.Rank, setup.Size);
    }

    private static double Number(string text) => double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    private static HeatEquation Initialized(HeatOptions options)
    {
        var solver = new HeatEquation(options, 0, 1);
        solver.Initialize(TestSolverContext.Create());
        return solver;
    }

    private static double Solve(double source)
    {
        var solver = Initialized(new HeatOptions { N = 15, Source = source });
        while (Math.Sqrt(solver.Iterate()) > 1e-10)
        {
        }

        solver.Finish(new RunResult(RunOutcome.Converged, 0, 0, 0, 0, TimeSpan.Zero, 0, null));
        return solver.MaxTemperature;
    }
}
