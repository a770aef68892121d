using Convergence.Commands;
using Convergence.Journal;
using Convergence.Solver;
using Convergence.Testing;
using Convergence.Tests.Checkpoints;

namespace Convergence.Tests.Testing;

/// <summary>The test kit for solver authors: commands from text, a context, and the in-process harness over the real loop.</summary>
public sealed class SolverHarnessTests
{
    [Fact]
    public void TestCommands_ParseAsTheJobDoes_CustomCommandsIncluded()
    {
        var tolerance = TestCommands.Parse("CHANGE_TOLERANCE 1e-8 #t1");
        Assert.Equal(CommandKind.ChangeTolerance, tolerance.Kind);
        Assert.Equal(1e-8, tolerance.Value);
        Assert.Equal("t1", tolerance.ClientId);

        var ambient = TestCommands.Parse("ambient 2", AmbientSolver.Ambient);
        Assert.Equal(CommandKind.Custom, ambient.Kind);
        Assert.Equal("AMBIENT", ambient.Name);
        Assert.Equal("2", ambient.Arguments);

        Assert.Contains("unknown command 'FLY'", Assert.Throws<ArgumentException>(() => TestCommands.Parse("FLY")).Message, StringComparison.Ordinal);
        Assert.Contains("not a temperature", Assert.Throws<ArgumentException>(() => TestCommands.Parse("AMBIENT hot", AmbientSolver.Ambient)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TestSolverContext_IsRankZeroOfOneWithTestOptions()
    {
        var context = TestSolverContext.Create();

        Assert.Equal((0, 1, 0), (context.Rank, context.Size, context.Restarts));
        Assert.Equal(5.0, context.Coordinator.AllreduceSum(5.0));
        Assert.True(Directory.Exists(context.Options.ServiceDirectory));
    }

    [Fact]
    public void Harness_AppliesEachScriptedCommandAtItsIteration_ThroughTheRealLoopAndCheckpoints()
    {
        var run = SolverHarness.Run(
            new RelaxationSolver(),
            [(10, "CHECKPOINT"), (20, "CHANGE_TOLERANCE 1e-30 #t"), (30, "RESTART checkpoint"), (40, "STOP")],
            TestRunOptions.Create() with { Tolerance = 1e-20 });

        Assert.Equal(RunOutcome.Stopped, run.Result.Outcome);
        Assert.Equal(1e-30, run.Result.Tolerance);
        Assert.Equal(1, run.Result.Restarts);
        Assert.Equal(40, run.Result.TotalIterations);
        Assert.Equal([10L, 20, 30, 40], run.Journal.Select(e => e.AppliedTotalIteration ?? -1));
        Assert.All(run.Journal, e => Assert.Equal(JournalState.Applied, e.State));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), run.Residuals.Select(r => r.TotalIteration));

        // Rolled back to the state after iteration 10: iteration 31 repeats iteration 11 bit for bit.
        Assert.Equal(BitConverter.DoubleToInt64Bits(run.Residuals[10].Residual), BitConverter.DoubleToInt64Bits(run.Residuals[30].Residual));
        Assert.Contains("outcome=STOPPED", File.ReadAllText(Path.Combine(run.ServiceDirectory, "result.txt")), StringComparison.Ordinal);
        Assert.Contains("command applied seq=2 id=t iteration=20 total=20", run.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Harness_ASolversOwnCommandReachesApplyCommand_AndARejectedLineIsInTheJournal()
    {
        var solver = new AmbientSolver();

        var run = SolverHarness.Run(solver, [(5, "AMBIENT 2"), (8, "AMBIENT warm"), (12, "STOP")]);

        Assert.Equal(RunOutcome.Stopped, run.Result.Outcome);
        Assert.Equal([(5L, 2.0)], solver.Applied);
        Assert.Equal(JournalState.Rejected, Assert.Single(run.Journal, e => e.Text == "AMBIENT warm").State);
        Assert.Equal(5, Assert.Single(run.Journal, e => e.Text == "AMBIENT 2").AppliedTotalIteration);
    }

    /// <summary>A solver with one command of its own, AMBIENT T, that records when it was applied.</summary>
    private sealed class AmbientSolver : IIterativeSolver
    {
        public static readonly CustomCommand[] Ambient =
        [
            new("AMBIENT", "AMBIENT <T>", "set the ambient temperature", a => double.TryParse(a, System.Globalization.CultureInfo.InvariantCulture, out _) ? null : $"'{a}' is not a temperature"),
        ];

        private long _iterations;

        public string Name => "ambient";

        public IReadOnlyList<CustomCommand> Commands => Ambient;

        public List<(long Iteration, double Value)> Applied { get; } = [];

        public void Initialize(SolverContext context) => _iterations = 0;

        public double Iterate()
        {
            _iterations++;
            return 1.0;
        }

        public void Finish(RunResult result)
        {
        }

        public void ApplyCommand(ControlCommand command) =>
            Applied.Add((_iterations, double.Parse(command.Arguments, System.Globalization.CultureInfo.InvariantCulture)));
    }
}
