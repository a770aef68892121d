using Convergence.Commands;
using Convergence.Control;

namespace Convergence.Tests.Commands;

/// <summary>
/// Scheduled commands: the parser's forms and one-line rejections (<c>STOP at=…</c>, <c>CHECKPOINT at=…</c>,
/// <c>STOP after-checkpoints=N</c>, <c>CANCEL #id</c>), and rank 0's schedule (past iterations and times refused,
/// the distance to the next scheduled iteration, firing, withdrawal, and the messages carried to the next job).
/// </summary>
public sealed class ScheduledCommandTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 18, 0, 0, TimeSpan.Zero);
    private readonly CommandParser _parser = new();

    [Theory]
    [InlineData("STOP at=5000 #s1", "STOP", "at=5000", 5000.0, "s1")]
    [InlineData("stop AT=12", "STOP", "at=12", 12.0, null)]
    [InlineData("CHECKPOINT at=300 #c", "CHECKPOINT", "at=300", 300.0, "c")]
    [InlineData("STOP at=+30m #t", "STOP", "at=+30m", 0.0, "t")]
    [InlineData("STOP at=+2h", "STOP", "at=+2h", 0.0, null)]
    [InlineData("STOP at=+45s", "STOP", "at=+45s", 0.0, null)]
    [InlineData("STOP at=+90m", "STOP", "at=+90m", 0.0, null)]
    [InlineData("STOP at=2026-12-03T19:00:00Z", "STOP", "at=2026-12-03T19:00:00Z", 0.0, null)]
    [InlineData("STOP at=2026-12-03T20:00:00+01:00", "STOP", "at=2026-12-03T19:00:00Z", 0.0, null)]
    [InlineData("CHECKPOINT at=2026-12-03T19:00Z", "CHECKPOINT", "at=2026-12-03T19:00:00Z", 0.0, null)]
    [InlineData("STOP after-checkpoints=2 #n", "STOP", "after-checkpoints=2", 2.0, "n")]
    public void AScheduleIsAcceptedInItsCanonicalForm(string line, string name, string arguments, double value, string? id)
    {
        var result = _parser.Parse(line);

        Assert.Null(result.Rejection);
        Assert.Equal(new ControlCommand(CommandKind.Schedule, value, name, arguments, id), result.Command);
    }

    [Theory]
    [InlineData("STOP at=abc", "STOP 'abc' is neither an iteration, an ISO 8601 time (2026-12-03T19:00:00Z) nor a delay (+30m)")]
    [InlineData("STOP at=0", "STOP at= needs an iteration from 1 to 2^53, got '0'")]
    [InlineData("STOP at=99999999999999999999", "STOP at= needs an iteration from 1 to 2^53, got '99999999999999999999'")]
    [InlineData("STOP at=", "STOP expected at=ITERATION, at=TIME (ISO 8601), at=+30m or after-checkpoints=N, got 'at='")]
    [InlineData("STOP now", "STOP expected at=ITERATION, at=TIME (ISO 8601), at=+30m or after-checkpoints=N, got 'now'")]
    [InlineData("STOP at=+30x", "STOP '+30x' is not a delay; use +45s, +30m, +2h or +1d")]
    [InlineData("STOP at=+-5m", "STOP '+-5m' is not a delay; use +45s, +30m, +2h or +1d")]
    [InlineData("STOP after-checkpoints=0", "STOP after-checkpoints needs a whole number of at least 1, got '0'")]
    [InlineData("CHECKPOINT after-checkpoints=2", "CHECKPOINT expected at=ITERATION, at=TIME (ISO 8601) or at=+30m, got 'after-checkpoints=2'")]
    [InlineData("STOP at=2026-13-45T99:00:00Z", "STOP '2026-13-45T99:00:00Z' is neither an iteration, an ISO 8601 time (2026-12-03T19:00:00Z) nor a delay (+30m)")]
    [InlineData("CANCEL", "CANCEL needs the #id of a scheduled command (CANCEL #stop-at-5000), got '#'")]
    [InlineData("CANCEL a b", "CANCEL needs the #id of a scheduled command (CANCEL #stop-at-5000), got 'a b'")]
    public void BadScheduleInputIsRejectedInOneLine(string line, string reason)
    {
        var result = _parser.Parse(line);

        Assert.Null(result.Command);
        Assert.Equal(reason, result.Rejection);
        Assert.DoesNotContain('\n', result.Rejection!);
    }

    [Fact]
    public void CancelNamesTheScheduledCommandsId_NotItsOwn()
    {
        // The general grammar would take "#s1" for this message's own #id (and then refuse it as a duplicate).
        Assert.Equal(new ControlCommand(CommandKind.Cancel, 0, "CANCEL", "s1", null), _parser.Parse("CANCEL #s1").Command);
        Assert.Equal(new ControlCommand(CommandKind.Cancel, 0, "CANCEL", "s1", "c1"), _parser.Parse("CANCEL #s1 #c1").Command);
        Assert.Equal(new ControlCommand(CommandKind.Cancel, 0, "CANCEL", "s1", null), _parser.Parse("cancel s1").Command);
    }

    [Fact]
    public void PlainStopAndCheckpointAreUnchanged()
    {
        Assert.Equal(CommandKind.Stop, _parser.Parse("STOP #x").Command!.Kind);
        Assert.Equal(CommandKind.Checkpoint, _parser.Parse("CHECKPOINT").Command!.Kind);
    }

    [Fact]
    public void AnIterationAlreadyReachedOrATimeAlreadyPast_IsRefusedByRankZero()
    {
        var schedule = new CommandSchedule();

        var (reached, why) = schedule.Add(Parse("STOP at=100 #a"), 1, 100, Now);
        var (past, whyPast) = schedule.Add(Parse("STOP at=2026-12-03T17:59:59Z #b"), 2, 50, Now);

        Assert.False(reached);
        Assert.Equal("STOP at iteration 100: the run is already at iteration 100", why);
        Assert.False(past);
        Assert.Equal("STOP at 2026-12-03T17:59:59Z: that time is already past (now 2026-12-03T18:00:00Z)", whyPast);
        Assert.True(schedule.IsEmpty);
    }

    [Fact]
    public void TheNextScheduledIteration_BoundsTheSyncDistance_AndFiresExactlyThere()
    {
        var schedule = new CommandSchedule();
        Assert.True(schedule.Add(Parse("STOP at=500 #s1"), 3, 120, Now).Accepted);
        Assert.True(schedule.Add(Parse("CHECKPOINT at=300"), 4, 120, Now).Accepted);

        Assert.Equal(180, schedule.IterationsUntilNext(120));
        Assert.False(schedule.IsDue(299, Now));
        Assert.True(schedule.IsDue(300, Now));
        Assert.True(schedule.TryTakeDue(300, Now, out var checkpoint, out var text, out var scheduledBy));
        Assert.Equal(new ControlCommand(CommandKind.Checkpoint, 0, "CHECKPOINT", string.Empty, "s4"), checkpoint);
        Assert.Equal("CHECKPOINT (scheduled at iteration 300 by seq 4, fired)", text);
        Assert.Equal(4, scheduledBy);
        Assert.Equal(200, schedule.IterationsUntilNext(300));
        Assert.False(schedule.TryTakeDue(301, Now, out _, out _, out _));
        Assert.True(schedule.TryTakeDue(500, Now, out var stop, out _, out _));
        Assert.Equal(new ControlCommand(CommandKind.Stop, 0, "STOP", string.Empty, "s1"), stop);
        Assert.True(schedule.IsEmpty);
    }

    [Fact]
    public void ATimeFiresAtTheFirstSyncAtOrAfterIt()
    {
        var schedule = new CommandSchedule();
        Assert.True(schedule.Add(Parse("STOP at=+30m #t"), 1, 10, Now).Accepted);

        Assert.True(schedule.UsesClock);
        Assert.Equal(long.MaxValue, schedule.IterationsUntilNext(10));
        Assert.False(schedule.IsDue(1_000_000, Now.AddMinutes(29)));
        Assert.True(schedule.IsDue(11, Now.AddMinutes(30)));

        // Carried to the next job as the absolute time it stands for, not as "30 minutes from whenever".
        Assert.Equal(["STOP at=2026-12-03T18:30:00Z #t"], schedule.AsMessages());
    }

    [Fact]
    public void AfterCheckpoints_CountsDownWithEveryCheckpointWritten()
    {
        var schedule = new CommandSchedule();
        Assert.True(schedule.Add(Parse("STOP after-checkpoints=2 #n"), 1, 10, Now).Accepted);

        schedule.CheckpointWritten();
        Assert.False(schedule.IsDue(20, Now));
        Assert.Equal("after 1 more checkpoint", schedule.List.Single().When);
        Assert.Equal(["STOP after-checkpoints=1 #n"], schedule.AsMessages());
        schedule.CheckpointWritten();
        Assert.True(schedule.IsDue(21, Now));
    }

    [Fact]
    public void TheLastPeriodicCheckpointAStopWaitsFor_BecomesThatStop()
    {
        var schedule = new CommandSchedule();
        Assert.True(schedule.Add(Parse("STOP after-checkpoints=2 #n"), 1, 10, Now).Accepted);

        Assert.False(schedule.StopWithNextCheckpoint());
        schedule.CheckpointWritten();
        Assert.True(schedule.StopWithNextCheckpoint());
        Assert.True(schedule.TryTakeDue(200, Now, out var stop, out var text, out _));
        Assert.Equal(CommandKind.Stop, stop.Kind);
        Assert.Equal("STOP (scheduled after its last checkpoint by seq 1, fired)", text);
    }

    [Fact]
    public void CancelWithdrawsByIdAndAnUnknownIdIsRefusedInOneLine()
    {
        var schedule = new CommandSchedule();
        Assert.True(schedule.Add(Parse("STOP at=500 #s1"), 1, 10, Now).Accepted);
        var published = 0;
        schedule.Changed = _ => published++;

        var (unknown, why) = schedule.Cancel("nope");
        var (withdrawn, note) = schedule.Cancel("s1");

        Assert.False(unknown);
        Assert.Equal("CANCEL: no scheduled command has #id 'nope' (scheduled: #s1)", why);
        Assert.True(withdrawn);
        Assert.Equal("withdrew #s1: STOP at iteration 500", note);
        Assert.True(schedule.IsEmpty);
        Assert.Empty(schedule.List);
        Assert.Equal(1, published);
        Assert.False(schedule.Cancel("s1").Accepted);
    }

    [Fact]
    public void ASecondScheduleUnderTheSameIdIsRefused()
    {
        var schedule = new CommandSchedule();
        Assert.True(schedule.Add(Parse("STOP at=500"), 7, 10, Now).Accepted);

        var (accepted, why) = schedule.Add(Parse("CHECKPOINT at=600 #s7"), 8, 10, Now);

        Assert.False(accepted);
        Assert.Equal("#s7 already names a scheduled command; CANCEL #s7 first or use another #id", why);
    }

    private ControlCommand Parse(string line) => _parser.Parse(line).Command ?? throw new InvalidOperationException(_parser.Parse(line).Rejection);
}
