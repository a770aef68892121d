using System.Text;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Intake;
using Convergence.Options;
using Convergence.Signals;
using Convergence.Solver;
using Convergence.Tests.Control;
using Convergence.Tests.Infrastructure;
using Convergence.Tests.Intake;

namespace Convergence.Tests.Slurm;

/// <summary>The pieces of the scheduler flow that need no scheduler: chain decisions, end-time parsing, signals, tail position.</summary>
public sealed class ChainAndDeadlineTests
{
    private static RunOptions Chained(int link, int max, string? next = "42") =>
        new RunOptions { ServiceDirectory = "/nonexistent", ChainLink = link, ChainMax = max, ChainNextJob = next };

    private static RunResult Stopped(StopCause cause, long total = 500) =>
        new(RunOutcome.Stopped, total, total, 0.5, 1e-9, TimeSpan.FromSeconds(1), 0, "stopped") { StopCause = cause };

    [Theory]
    [InlineData(StopCause.Deadline)]
    [InlineData(StopCause.AdvanceSignal)]
    public void AStopAtTheAllocationsEndWithProgressContinuesTheChain(StopCause cause)
    {
        var step = ChainStep.Decide(Chained(2, 5), Stopped(cause), lastCheckpointTotal: 500, startedAtTotal: 300)!;

        Assert.True(step.Continues, step.Reason);
        Assert.Contains(("chain", "continue"), step.ResultFields());
        Assert.Contains(("chain_next_job", "42"), step.ResultFields());
        Assert.Contains(("chain_link", "2"), step.ResultFields());
        Assert.Contains("Slurm job 42 (link 3)", step.PageMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StopCause.Signal, "signal")]
    [InlineData(StopCause.Command, "STOP")]
    public void AUsersStopEndsTheChain(StopCause cause, string expected)
    {
        var step = ChainStep.Decide(Chained(2, 5), Stopped(cause), 500, 300)!;

        Assert.False(step.Continues);
        Assert.Contains(expected, step.Reason, StringComparison.Ordinal);
        Assert.Contains(("chain", "end"), step.ResultFields());
    }

    [Fact]
    public void TheChainEndsAtItsMaximumLengthWithoutProgressAndOnEveryFinalOutcome()
    {
        Assert.Contains("maximum chain length", ChainStep.Decide(Chained(5, 5), Stopped(StopCause.Deadline), 500, 300)!.Reason, StringComparison.Ordinal);
        Assert.Contains("no progress", ChainStep.Decide(Chained(2, 5), Stopped(StopCause.Deadline), 300, 300)!.Reason, StringComparison.Ordinal);
        Assert.Contains("no progress", ChainStep.Decide(Chained(2, 5), Stopped(StopCause.Deadline), null, 0)!.Reason, StringComparison.Ordinal);
        Assert.Contains("no next link", ChainStep.Decide(Chained(2, 5, next: null), Stopped(StopCause.Deadline), 500, 300)!.Reason, StringComparison.Ordinal);
        foreach (var outcome in new[] { RunOutcome.Converged, RunOutcome.Aborted, RunOutcome.IterationLimit, RunOutcome.Diverged, RunOutcome.Failed })
        {
            var result = new RunResult(outcome, 10, 10, 0.1, 1e-9, TimeSpan.Zero, 0, null);
            Assert.False(ChainStep.Decide(Chained(2, 5), result, 500, 300)!.Continues, outcome.ToString());
        }

        Assert.Null(ChainStep.Decide(new RunOptions { ServiceDirectory = "/x" }, Stopped(StopCause.Deadline), 500, 0));
    }

    [Fact]
    public void ChainOptionsComeFromTheEnvironmentAndALinkBeyondTheMaximumIsRefused()
    {
        var env = new Dictionary<string, string?> { ["CONVERGENCE_CHAIN_LINK"] = "3", ["CONVERGENCE_CHAIN_MAX"] = "4", ["CONVERGENCE_CHAIN_NEXT_JOB"] = "77", ["SLURM_JOB_ID"] = "76" };
        var options = RunOptions.Parse([], out _, environment: k => env.GetValueOrDefault(k));

        Assert.Equal((3, 4, "77", "76"), (options.ChainLink, options.ChainMax, options.ChainNextJob, options.SlurmJobId));
        Assert.Contains("chain-link=3/4 next-job=77", options.Describe(), StringComparison.Ordinal);
        var ex = Assert.Throws<OptionsException>(() => RunOptions.Parse(["--chain-link", "5"], out _, environment: k => env.GetValueOrDefault(k)));
        Assert.Contains("beyond the maximum chain length 4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SlurmsEndTimeIsTheSchedulersUnlessADeadlineIsGiven()
    {
        var env = new Dictionary<string, string?> { ["SLURM_JOB_END_TIME"] = "1764061200" };
        var fromSlurm = RunOptions.Parse([], out _, environment: k => env.GetValueOrDefault(k));
        var given = RunOptions.Parse(["--deadline", "+1h"], out _, environment: k => env.GetValueOrDefault(k));

        Assert.True(fromSlurm.DeadlineFromScheduler);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764061200), fromSlurm.Deadline);
        Assert.False(given.DeadlineFromScheduler);
        Assert.Null(RunOptions.Parse(["--slurm-end-time", "off"], out _, environment: _ => null).SlurmEndTimeEvery);
        Assert.Equal(TimeSpan.FromSeconds(15), RunOptions.Parse(["--slurm-end-time", "15s"], out _, environment: _ => null).SlurmEndTimeEvery);
        Assert.Throws<OptionsException>(() => RunOptions.Parse(["--slurm-end-time", "1s"], out _, environment: _ => null));
    }

    [Theory]
    [InlineData("1796116951\n", 1796116951L)]
    [InlineData("2026-12-01T09:24:33\n", 1796117073L)]
    public void SqueuesEndTimeIsReadAsUnixSecondsOrAsUtc(string output, long expected)
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(expected), SlurmEndTime.Parse(output, out var problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("", "does not list the job")]
    [InlineData("N/A\n", "no time limit")]
    [InlineData("Unknown\n", "no time limit")]
    public void NoEndTimeIsSaidInOneLine(string output, string expected)
    {
        Assert.Null(SlurmEndTime.Parse(output, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ATimeExtensionMovesTheBudgetsDeadlineFromTheWatchersThread()
    {
        var budget = new WallTimeBudget(DateTimeOffset.UtcNow.AddSeconds(30), TimeSpan.FromSeconds(1));
        var extended = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds());
        var lines = new List<string>();
        using (var watch = new SlurmDeadlineWatch(budget, "9", TimeSpan.FromMilliseconds(20), l => { lock (lines) { lines.Add(l); } }, _ => extended, TimeSpan.FromMilliseconds(20)))
        {
            Examples.ServiceFiles.WaitUntil(() => budget.Deadline == extended, TimeSpan.FromSeconds(10), () => string.Join('\n', lines));
        }

        // 29 s to go with a 1 s margin would not stop; the decision uses the moved end at once.
        Assert.False(budget.MustStop(100, System.Diagnostics.Stopwatch.GetTimestamp(), 10));
        lock (lines)
        {
            Assert.Contains(lines, l => l.Contains("moved from", StringComparison.Ordinal) && l.Contains("job 9", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void TheAdvanceSignalStopsTheLoopAsTheDeadlineDoesAndSaysSo()
    {
        Assert.Equal(SignalAction.Deadline, SignalMap.Parse("USR1=deadline").Entries.Single().Action);
        using var votes = new SignalVotes(SignalMap.None, _ => { });
        var solver = new GeometricSolver(factor: 0.999) { OnIterate = i => { if (i == 18) { votes.Raise(SignalAction.Deadline); } } };
        var options = new RunOptions { Tolerance = 1e-12, Sync = SyncPolicy.Every(5), ServiceDirectory = "/nonexistent" };

        var result = new ControlLoop(solver, new SingleProcessCoordinator(), options, null, new RunEvents(votes, null, null, null)).Run();

        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        Assert.Equal(StopCause.AdvanceSignal, result.StopCause);
        Assert.InRange(result.Iteration, 18, 23); // at the first sync after the signal (every 5 iterations)
        Assert.StartsWith("advance signal (the allocation ends soon) on 1 of 1 rank(s)", result.Message, StringComparison.Ordinal);
        Assert.Equal((false, false, false), votes.TakeAll());
    }

    [Fact]
    public void TheTailContinuesWhereTheEarlierLinkStoppedReadingInTheSameFile()
    {
        var path = Path.Combine(Repo.NewTempFolder("tail-position"), "notifications.txt");
        File.WriteAllText(path, "CHECKPOINT\nSTOP #old\n");
        NotificationPosition position;
        using (var first = new NotificationTail(path, replayExisting: true))
        {
            TailTestKit.PollUntil(first, l => l.Count == 2);
            TailTestKit.AppendText(path, "CHANGE_TO");
            TailTestKit.PollOnce(first);
            position = first.TakePosition()!;
        }

        // Written while no job reads: the unfinished line's start was recorded, not its middle.
        TailTestKit.AppendText(path, "LERANCE 1e-8 #while-queued\n");
        using var next = new NotificationTail(path, 4096, replayExisting: false, NotificationPosition.Parse(position.Format(), out _));
        var lines = TailTestKit.PollUntil(next, l => l.Count == 1);

        Assert.Equal("CHANGE_TOLERANCE 1e-8 #while-queued", lines.Single().Text);
        Assert.Equal(Encoding.UTF8.GetByteCount("CHECKPOINT\nSTOP #old\n"), position.Offset);
        Assert.Contains("where the earlier job stopped reading", next.ContinuedFrom, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileReCreatedAfterThePositionWasTakenIsReadFromItsStartAndAnotherPathIsSkippedAsUsual()
    {
        var folder = Repo.NewTempFolder("tail-recreated");
        var path = Path.Combine(folder, "notifications.txt");
        File.WriteAllText(path, "STOP #old\n");
        NotificationPosition position;
        using (var first = new NotificationTail(path, replayExisting: true))
        {
            TailTestKit.PollUntil(first, l => l.Count == 1);
            position = first.TakePosition()! with { RecordedAt = DateTimeOffset.UtcNow.AddSeconds(-5) };
        }

        // Deleted and re-created: the new file may even get the old inode number back; its content tells.
        File.Delete(path);
        File.WriteAllText(path, "CHECKPOINT #new\n");
        using (var next = new NotificationTail(path, 4096, false, position))
        {
            Assert.Equal("CHECKPOINT #new", TailTestKit.PollUntil(next, l => l.Count == 1).Single().Text);
        }

        var elsewhere = position with { Path = Path.Combine(folder, "other.txt") };
        using var skipped = new NotificationTail(path, 4096, false, elsewhere);
        Assert.Empty(TailTestKit.PollOnce(skipped));
        Assert.Equal(new FileInfo(path).Length, skipped.SkippedBytes);
    }

    [Fact]
    public void APositionFileThatIsNotOneIsRefusedWithAReason()
    {
        Assert.Null(NotificationPosition.Parse("offset=12\n", out var problem));
        Assert.Contains("format line missing", problem, StringComparison.Ordinal);
        Assert.Null(NotificationPosition.Parse("format=convergence-notifications-position 1\npath=/x\ndevice=1\ninode=x\noffset=1\nrecorded_at=2026-01-01T00:00:00Z\n", out problem));
        Assert.Contains("malformed", problem, StringComparison.Ordinal);
    }
}
