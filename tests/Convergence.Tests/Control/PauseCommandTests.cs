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

/// <summary>PAUSE and RESUME: what the parser takes, and the loop's pause in one process (the MPI side: the contract and <see cref="MpiPauseTests"/>).</summary>
public sealed class PauseCommandTests
{
    private static readonly JobLog Log = new(writer: TextWriter.Null);

    private readonly CommandParser _parser = new();

    [Theory]
    [InlineData("PAUSE", 0.0, "")]
    [InlineData("pause #p", 0.0, "")]
    [InlineData("PAUSE 30s", 30.0, "30s")]
    [InlineData("PAUSE 15m #later", 900.0, "15m")]
    [InlineData("PAUSE 2H", 7200.0, "2h")]
    [InlineData("PAUSE 168h", 604800.0, "168h")]
    public void Pause_TakesNothingOrADuration(string line, double seconds, string arguments)
    {
        var command = _parser.Parse(line).Command;
        Assert.NotNull(command);
        Assert.Equal((CommandKind.Pause, seconds, arguments), (command.Kind, command.Value, command.Arguments));
    }

    [Theory]
    [InlineData("PAUSE 10", "PAUSE takes no argument (until RESUME) or a duration from 1s to 168h such as 30s, 15m or 2h, got '10'")]
    [InlineData("PAUSE 500ms", "PAUSE takes no argument (until RESUME) or a duration from 1s to 168h such as 30s, 15m or 2h, got '500ms'")]
    [InlineData("PAUSE 169h", "PAUSE takes no argument (until RESUME) or a duration from 1s to 168h such as 30s, 15m or 2h, got '169h'")]
    [InlineData("PAUSE -5m", "PAUSE takes no argument (until RESUME) or a duration from 1s to 168h such as 30s, 15m or 2h, got '-5m'")]
    [InlineData("RESUME now", "RESUME takes no argument, got 'now'")]
    public void BadPauseAndResume_AreOneLineRejections(string line, string reason)
    {
        Assert.Equal(reason, _parser.Parse(line).Rejection);
    }

    [Fact]
    public void Resume_WhenNotPaused_IsDeclinedAndTheRunGoesOn()
    {
        using var host = Host("resume-unpaused", out var options);
        Send(host, options, "RESUME #r\nSTOP #s", 2);
        var result = new ControlLoop(new GeometricSolver(factor: 0.9999), new SingleProcessCoordinator(), options with { Tolerance = 1e-9, Sync = SyncPolicy.Every(1) }, host.Services).Run();

        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        var entries = host.Journal.Snapshot();
        Assert.Equal((JournalState.Rejected, "RESUME: the job is not paused"), (entries[0].State, entries[0].Reason));
        Assert.Equal(TimeSpan.Zero, result.Paused);
    }

    [Fact]
    public void TimedPause_HoldsTheLoopAndResumesByItself()
    {
        using var host = Host("timed", out var options);
        Send(host, options, "PAUSE 1s #p", 1);
        var solver = new GeometricSolver(factor: 0.9);
        var result = new ControlLoop(solver, new SingleProcessCoordinator(), options with { Tolerance = 1e-6, Sync = SyncPolicy.Every(1) }, host.Services).Run();

        Assert.Equal(RunOutcome.Converged, result.Outcome);
        Assert.InRange(result.Paused.TotalSeconds, 0.95, 30);
        var entry = host.Journal.Snapshot()[0];
        Assert.Equal(JournalState.Applied, entry.State);
        Assert.StartsWith("paused at iteration 1, resumes by itself at ", entry.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangeToleranceWhilePaused_ConvergesAtThePausedIteration()
    {
        using var host = Host("tolerance", out var options);
        Send(host, options, "PAUSE #p", 1);
        var loop = new ControlLoop(new GeometricSolver(factor: 0.9999), new SingleProcessCoordinator(), options with { Tolerance = 1e-9, Sync = SyncPolicy.Every(1) }, host.Services);
        RunResult? result = null;
        var run = new Thread(() => result = loop.Run()) { IsBackground = true };
        run.Start();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (host.Live.Snapshot(0).State != JobState.Paused)
        {
            Assert.True(DateTime.UtcNow < deadline, "not paused within 20 s");
            Thread.Sleep(10);
        }

        var at = host.Live.Snapshot(0).Pause!.Iteration;
        Send(host, options, "CHANGE_TOLERANCE 10", 2);
        Assert.True(run.Join(TimeSpan.FromSeconds(20)), "the paused loop did not end after CHANGE_TOLERANCE");
        Assert.Equal((RunOutcome.Converged, at), (result!.Outcome, result.Iteration));
    }

    private static ServiceHost Host(string label, out RunOptions options)
    {
        options = new RunOptions
        {
            ServiceDirectory = Repo.NewTempFolder($"pause-{label}"),
            PollInterval = TimeSpan.FromMilliseconds(5),
            StatusInterval = TimeSpan.FromSeconds(30),
        };
        return ServiceHost.Start(options, Log, "geometric");
    }

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
