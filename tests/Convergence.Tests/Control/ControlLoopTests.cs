using Convergence.Commands;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Journal;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Status;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>The loop's decisions in one process, where every number is predictable.</summary>
public sealed class ControlLoopTests
{
    private static RunOptions Options(double tolerance = 1e-3, long max = 1_000_000, SyncPolicy? sync = null) =>
        new RunOptions { Tolerance = tolerance, MaxIterations = max, Sync = sync ?? SyncPolicy.Every(7), ServiceDirectory = "/nonexistent" };

    [Theory]
    [InlineData("adaptive")]
    [InlineData("every:7")]
    [InlineData("piggyback")]
    public void Converges_AtTheFirstIterationBelowTheTolerance_WhateverTheCadence(string sync)
    {
        // 0.5^10 = 9.8e-4 is the first residual below 1e-3.
        var solver = new GeometricSolver();
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(sync: SyncPolicy.Parse(sync)), null).Run();

        Assert.Equal(RunOutcome.Converged, result.Outcome);
        Assert.Equal(10, result.Iteration);
        Assert.Equal(Math.Pow(0.5, 10), result.Residual);
        Assert.Same(result, solver.Finished);
    }

    [Fact]
    public void L2Norm_TakesTheSquareRootOfTheReducedSum()
    {
        var solver = new GeometricSolver(residualAt: i => i < 5 ? 1 : 1e-8) { Norm = ResidualNorm.L2 };
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(), null).Run();
        Assert.Equal(1e-4, result.Residual, 12);
        Assert.Equal(5, result.Iteration);
    }

    [Fact]
    public void IterationLimit_EndsTheRunAndCallsFinish()
    {
        var solver = new GeometricSolver(factor: 0.999);
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(max: 25), null).Run();
        Assert.Equal(RunOutcome.IterationLimit, result.Outcome);
        Assert.Equal(25, result.Iteration);
        Assert.Equal(ExitCodes.IterationLimit, result.ExitCode);
        Assert.NotNull(solver.Finished);
    }

    [Fact]
    public void NaNResidual_IsDivergedNotAnException()
    {
        var solver = new GeometricSolver(residualAt: i => i == 4 ? double.NaN : 1);
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(), null).Run();
        Assert.Equal(RunOutcome.Diverged, result.Outcome);
        Assert.Equal(4, result.Iteration);
        Assert.Null(solver.Finished);
    }

    [Fact]
    public void Commands_AreAppliedInArrivalOrderOnePerBoundary_AndJournaled()
    {
        var set = new CustomCommand("SET", "SET <name> <value>", "set a parameter", a => a.Split(' ').Length == 2 ? null : "needs a name and a value");
        var solver = new GeometricSolver(factor: 0.9999) { Commands = [set] };

        // The messages land before the loop starts; the loop must apply all of them, in order.
        using var queued = QueuedCommands.Send(solver.Commands, "SET a 1\nSET b 2\nCHANGE_TOLERANCE 0.5 #tol\nSET c 3\nSTOP", 5);
        var journal = queued.Journal;
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(tolerance: 1e-9, sync: SyncPolicy.Every(3)), queued.Services).Run();

        // The tolerance change to 0.5 is applied at a boundary where the residual (≈1) is above it,
        // so the run goes on until STOP.
        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        Assert.Equal(["a 1", "b 2", "c 3"], solver.Applied.Select(c => c.Arguments));
        var entries = journal.Snapshot();
        Assert.Equal(5, entries.Count);
        Assert.All(entries, e => Assert.Equal(JournalState.Applied, e.State));
        var applied = entries.Select(e => e.AppliedTotalIteration!.Value).ToList();
        Assert.Equal(applied.Order(), applied);
        Assert.Equal(applied.Count, applied.Distinct().Count());
        Assert.Equal("tol", entries[2].ClientId);
        Assert.Equal(0.5, result.Tolerance);
    }

    [Fact]
    public void AnAppliedToleranceChange_IsOnThePageWithTheNewTolerance_AtOnce()
    {
        // Fast iterations: the periodic status record comes only every ~10 ms, thousands of iterations apart.
        using var queued = QueuedCommands.Send([], "CHANGE_TOLERANCE 0.5 #t", 1);
        double? seen = null;
        var solver = new GeometricSolver(factor: 0.99999)
        {
            OnIterate = _ =>
            {
                if (seen is null && queued.Journal.Snapshot().Single().State == JournalState.Applied)
                {
                    seen = queued.Services.Live.Snapshot(0).Tolerance;
                }
            },
        };
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(tolerance: 1e-9, sync: SyncPolicy.Every(1), max: 100_000), queued.Services).Run();

        Assert.Equal(RunOutcome.Converged, result.Outcome);
        Assert.Equal(0.5, seen);
    }

    [Fact]
    public void ChangeTolerance_AboveTheCurrentResidual_ConvergesAtThatBoundary()
    {
        var solver = new GeometricSolver(residualAt: _ => 0.01);
        using var queued = QueuedCommands.Send([], "CHANGE_TOLERANCE 0.02", 1);
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(tolerance: 1e-6, sync: SyncPolicy.Every(4)), queued.Services).Run();

        // The first sync is at iteration 1: the command waits there already.
        Assert.Equal(RunOutcome.Converged, result.Outcome);
        Assert.Equal(1, result.Iteration);
        Assert.Equal(0.02, result.Tolerance);
    }

    [Fact]
    public void Restart_ReinitialisesTheSolverAndResetsTheIterationCount()
    {
        var solver = new GeometricSolver(factor: 0.9);
        using var queued = QueuedCommands.Send([], "RESTART", 1);
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(tolerance: 1e-3, sync: SyncPolicy.Every(5)), queued.Services).Run();

        // Restart at the first sync (iteration 1), then 0.9^66 < 1e-3 is reached 66 iterations later.
        Assert.Equal(RunOutcome.Converged, result.Outcome);
        Assert.Equal(2, solver.Initializations);
        Assert.Equal(1, result.Restarts);
        Assert.Equal(66, result.Iteration);
        Assert.Equal(67, result.TotalIterations);
        Assert.Equal(1, queued.Journal.Snapshot().Single().AppliedIteration);
    }

    [Fact]
    public void JobRunner_WritesPlaceholderThenResult_AndFailedWhenTheSolverThrows()
    {
        var service = Repo.NewTempFolder("runner");
        var options = new RunOptions { ServiceDirectory = service, Tolerance = 1e-3, StatusInterval = TimeSpan.FromMilliseconds(50) };
        var sawPlaceholder = false;
        var solver = new GeometricSolver(factor: 0.99)
        {
            OnIterate = i =>
            {
                if (i == 1)
                {
                    sawPlaceholder = File.ReadAllText(Path.Combine(service, "result.txt")).StartsWith("outcome=UNSET\n", StringComparison.Ordinal);
                }

                if (i == 50)
                {
                    throw new InvalidOperationException("boom <b>");
                }
            },
        };
        using var log = new JobLog(writer: TextWriter.Null);

        var ex = Assert.Throws<InvalidOperationException>(() => new JobRunner(new SingleProcessCoordinator(), options, solver, log).Run());
        Assert.Equal("boom <b>", ex.Message);
        Assert.True(sawPlaceholder);
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("rank 0: InvalidOperationException: boom <b>", result["message"]);
        Assert.Contains("Failed", File.ReadAllText(Path.Combine(service, "status.html")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("piggyback", 100)]
    [InlineData("every:100000", 100_001)] // syncs at 1, 100001, …
    public void PiggyBack_ActsOnACommandAtTheNextIteration_OtherCadencesAtTheNextSync(string sync, long expected)
    {
        var file = Path.Combine(Repo.NewTempFolder("piggy"), "notifications.txt");
        var journal = new CommandJournal();
        var tail = new Convergence.Intake.NotificationTail(file);
        using var intake = new Convergence.Intake.CommandIntake(tail, new CommandParser(), journal, TimeSpan.FromMilliseconds(5), false, _ => { });
        var solver = new GeometricSolver(factor: 0.99999)
        {
            // At iteration 100 a message arrives and the watcher has read it before the reduction.
            OnIterate = i =>
            {
                if (i == 100)
                {
                    Notify.Append(file, "STOP");
                    var deadline = DateTime.UtcNow.AddSeconds(10);
                    while (journal.ReceivedCount < 1)
                    {
                        Assert.True(DateTime.UtcNow < deadline, "the watcher did not read the message");
                        Thread.Sleep(1);
                    }
                }
            },
        };
        var services = new RankZeroServices(intake, journal, new LiveStatus("t", "g", 1, 1e-9, [], journal));
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), Options(tolerance: 1e-9, sync: SyncPolicy.Parse(sync)), services).Run();

        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        Assert.Equal(expected, result.TotalIterations);
    }

    /// <summary>Rank 0's intake with messages already received from a second process, ready for a loop.</summary>
    private sealed class QueuedCommands : IDisposable
    {
        private readonly Convergence.Intake.CommandIntake _intake;

        private QueuedCommands(Convergence.Intake.CommandIntake intake, CommandJournal journal, LiveStatus live)
        {
            _intake = intake;
            Journal = journal;
            Services = new RankZeroServices(intake, journal, live);
        }

        public CommandJournal Journal { get; }

        public RankZeroServices Services { get; }

        /// <summary>Appends <paramref name="messages"/> and waits until <paramref name="expected"/> commands were received.</summary>
        public static QueuedCommands Send(IReadOnlyList<CustomCommand> commands, string messages, int expected)
        {
            var file = Path.Combine(Repo.NewTempFolder("loop"), "notifications.txt");
            var journal = new CommandJournal();
            var tail = new Convergence.Intake.NotificationTail(file);
            var intake = new Convergence.Intake.CommandIntake(tail, new CommandParser(commands), journal, TimeSpan.FromMilliseconds(5), false, _ => { });
            Notify.Append(file, messages);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (journal.ReceivedCount < expected)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {journal.ReceivedCount} of {expected} commands received in 10 s");
                Thread.Sleep(5);
            }

            return new QueuedCommands(intake, journal, new LiveStatus("t", "geometric", 1, 1e-3, commands, journal));
        }

        public void Dispose() => _intake.Dispose();
    }
}
