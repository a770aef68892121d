using Convergence.Control;
using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Journal;
using Convergence.MathNet;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Tests.Infrastructure;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.Tests.Control;

/// <summary>
/// The control loop and the MathNet adapter apply the built-in commands by the same rules (one per boundary,
/// in arrival order) and with the same words, because both go through <see cref="BuiltInCommands"/>.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class BuiltInCommandsTests
{
    private const string Burst = "CHANGE_TOLERANCE 0.5 #t1\nCHANGE_TOLERANCE 0.25 #t2\nRESTART #r\nCHECKPOINT #c\nSTOP #s";

    [Fact]
    public void ABurst_IsAppliedOnePerBoundaryInArrivalOrder_ByTheLoopAndByTheMathNetAdapterAlike()
    {
        using var log = new JobLog(writer: TextWriter.Null);
        using var loopHost = Host("loop", log, out var loopOptions);
        Send(loopHost, loopOptions, Burst, 5);
        var loopResult = new ControlLoop(new GeometricSolver(factor: 0.9999), new SingleProcessCoordinator(), loopOptions with { Tolerance = 1e-9, Sync = SyncPolicy.Every(1) }, loopHost.Services).Run();
        var loopEntries = loopHost.Journal.Snapshot();

        using var mathNetHost = Host("mathnet", log, out var mathNetOptions);
        Send(mathNetHost, mathNetOptions, Burst, 5);
        var criterion = new SteeringStopCriterion(1e-9, mathNetHost);
        var residual = Vector<double>.Build.Dense(4, 1.0);
        var source = Vector<double>.Build.Dense(4, 1.0);
        var status = IterationStatus.Continue;
        var iteration = 0;
        for (; status == IterationStatus.Continue && iteration < 100; iteration++)
        {
            status = criterion.DetermineStatus(iteration, residual, source, residual);
        }

        var mathNetEntries = mathNetHost.Journal.Snapshot();

        // Same outcome, same end message format, same journal states and notes; RESTART and CHECKPOINT are
        // declined by the adapter (MathNet owns its state) and CHECKPOINT by the loop (no checkpoints here).
        Assert.Equal(RunOutcome.Stopped, loopResult.Outcome);
        Assert.Equal(RunOutcome.Stopped, criterion.CommandedOutcome);
        Assert.Equal(IterationStatus.StoppedWithoutConvergence, status);
        Assert.StartsWith("STOP received (seq 5) at iteration ", loopResult.Message, StringComparison.Ordinal);
        Assert.StartsWith("STOP received (seq 5) at iteration ", criterion.CommandMessage, StringComparison.Ordinal);
        Assert.Equal(["t1", "t2", "r", "c", "s"], loopEntries.Select(e => e.ClientId));
        Assert.Equal(["t1", "t2", "r", "c", "s"], mathNetEntries.Select(e => e.ClientId));
        Assert.Equal("tolerance 1E-09 -> 0.5", loopEntries[0].Reason);
        Assert.Equal(loopEntries[0].Reason, mathNetEntries[0].Reason);
        Assert.Equal("tolerance 0.5 -> 0.25", mathNetEntries[1].Reason);
        Assert.Equal(loopEntries[1].Reason, mathNetEntries[1].Reason);
        Assert.Equal(JournalState.Applied, loopEntries[2].State);
        Assert.Equal("restart #1", loopEntries[2].Reason);
        Assert.Equal(JournalState.Rejected, mathNetEntries[2].State);
        Assert.Equal("RESTART is not available: a MathNet.Numerics solver owns its state; use STOP and start a new job", mathNetEntries[2].Reason);
        Assert.Equal("CHECKPOINT is not available: checkpoints are not enabled for this job (see --checkpoint-dir)", loopEntries[3].Reason);
        Assert.StartsWith("CHECKPOINT is not available: a MathNet.Numerics solver owns its state", mathNetEntries[3].Reason, StringComparison.Ordinal);

        // One per boundary: each applied command at its own, later iteration than the one before.
        foreach (var entries in new[] { loopEntries, mathNetEntries })
        {
            var applied = entries.Where(e => e.State == JournalState.Applied).Select(e => e.AppliedTotalIteration!.Value).ToList();
            Assert.Equal(applied.Order(), applied);
            Assert.Equal(applied.Count, applied.Distinct().Count());
        }

        // The adapter looked again at the very next iteration while commands waited: five commands, five iterations.
        var mathNetApplied = mathNetEntries.Select(e => e.AppliedIteration).Where(i => i is not null).Select(i => i!.Value).ToList();
        Assert.Equal(mathNetApplied[0] + 4, mathNetApplied[^1]);
    }

    private static ServiceHost Host(string label, JobLog log, out RunOptions options)
    {
        options = new RunOptions
        {
            ServiceDirectory = Repo.NewTempFolder($"builtin-{label}"),
            PollInterval = TimeSpan.FromMilliseconds(5),
            StatusInterval = TimeSpan.FromSeconds(30),
        };
        return ServiceHost.Start(options, log, "geometric");
    }

    /// <summary>Appends the messages as a second process would (one O_APPEND write) and waits until all were received.</summary>
    private static void Send(ServiceHost host, RunOptions options, string messages, int expected)
    {
        Notify.Append(options.NotificationsFile, messages);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (host.Journal.ReceivedCount < expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {host.Journal.ReceivedCount} of {expected} commands received in 20 s");
            Thread.Sleep(5);
        }
    }
}
