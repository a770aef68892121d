using System.Collections.Concurrent;
using System.Text;
using Convergence.Commands;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Intake;

public sealed class CommandIntakeTests : IDisposable
{
    private readonly string _folder = Repo.NewTempFolder("intake");
    private readonly string _path;
    private readonly ConcurrentQueue<string> _log = new();

    public CommandIntakeTests() => _path = Path.Combine(_folder, "notifications.txt");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void EveryLineIsJournaledOnceAndBadInputBecomesAOneLineRejection()
    {
        var journal = new CommandJournal(_log.Enqueue);
        using var intake = Start(journal, new NotificationTail(_path, maxLineBytes: 256));
        var input = new MemoryStream();
        input.Write("STOP #s1\n\n   \nFROB 3 #f1\nCHANGE_TOLERANCE -1 #t1\n"u8);
        input.Write([.. "bad "u8, 0xFF, 0xFE, .. " utf8\n"u8]);
        input.Write("NUL\0byte\n"u8);
        input.Write(Encoding.UTF8.GetBytes(new string('L', 300) + "\n"));
        input.Write("ESC \u001b[31m red\n"u8);
        input.Write("CHANGE_TOLERANCE=1e-9 #t2\r\n"u8);
        using (var writer = RunningProcess.Start("/bin/sh", ["-c", "cat >> \"$1\" < \"$2\"", "sh", _path, WriteTemp(input.ToArray())]))
        {
            Assert.Equal(0, writer.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        WaitFor(() => journal.ReceivedCount + journal.RejectedCount == 8);

        Assert.Equal(2, journal.ReceivedCount);
        Assert.Equal(6, journal.RejectedCount);
        Assert.True(intake.TryDequeue(out var first));
        Assert.Equal(CommandKind.Stop, first.Command.Kind);
        Assert.True(intake.TryDequeue(out var second));
        Assert.Equal(1e-9, second.Command.Value);
        Assert.Equal("t2", second.Command.ClientId);
        Assert.False(intake.TryDequeue(out _));

        var events = _log.Where(l => l.StartsWith("command ", StringComparison.Ordinal)).ToList();
        Assert.Equal(8, events.Count);
        Assert.All(events, e => Assert.DoesNotContain(e, c => char.IsControl(c)));
        Assert.Equal("command received seq=1 id=s1 text=\"STOP #s1\"", events[0]);
        Assert.StartsWith("command rejected seq=2 id=f1 reason=\"unknown command 'FROB'", events[1], StringComparison.Ordinal);
        Assert.StartsWith("command rejected seq=3 id=t1 reason=\"CHANGE_TOLERANCE needs a positive finite number", events[2], StringComparison.Ordinal);
        Assert.StartsWith("command rejected seq=4 id=- reason=\"message is not valid UTF-8; skipped\" text=\"bad \\\\xFF\\\\xFE utf8\"", events[3], StringComparison.Ordinal);
        Assert.StartsWith("command rejected seq=5 id=- reason=\"NUL byte", events[4], StringComparison.Ordinal);
        Assert.StartsWith("command rejected seq=6 id=- reason=\"line longer than the limit of 256 bytes", events[5], StringComparison.Ordinal);
        Assert.StartsWith("command rejected seq=7 id=- reason=\"control character U+001B in message\" text=\"ESC \\u001B[31m red\"", events[6], StringComparison.Ordinal);
        Assert.Equal("command received seq=8 id=t2 text=\"CHANGE_TOLERANCE=1e-9 #t2\"", events[7]);

        var entries = journal.Snapshot();
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.All(entries, e => Assert.True(e.ReceivedAt > DateTimeOffset.UtcNow.AddMinutes(-1)));
        Assert.All(entries.Where(e => e.State == JournalState.Rejected), e => Assert.False(string.IsNullOrEmpty(e.Reason)));
    }

    [Fact]
    public void WaitingCommandsAreBoundedAndKeepTheirOrder()
    {
        var extra = 5;
        var lines = string.Concat(Enumerable.Range(1, CommandIntake.MaxWaiting + extra).Select(i => $"CHECKPOINT #k{i}\n"));
        File.WriteAllText(_path, lines);
        var journal = new CommandJournal();
        using var intake = Start(journal, new NotificationTail(_path, replayExisting: true));

        WaitFor(() => journal.ReceivedCount + journal.RejectedCount == CommandIntake.MaxWaiting + extra);

        Assert.Equal(CommandIntake.MaxWaiting, journal.ReceivedCount);
        Assert.Equal(extra, journal.RejectedCount);
        Assert.All(journal.Snapshot(extra), e => Assert.Contains("already waiting", e.Reason, StringComparison.Ordinal));
        for (var i = 1; i <= CommandIntake.MaxWaiting; i++)
        {
            Assert.True(intake.TryDequeue(out var pending));
            Assert.Equal($"k{i}", pending.Command.ClientId);
        }

        // Room again: the next message is accepted.
        File.AppendAllText(_path, "STOP #after\n");
        WaitFor(() => journal.ReceivedCount == CommandIntake.MaxWaiting + 1);
        Assert.True(intake.TryDequeue(out var after));
        Assert.Equal("after", after.Command.ClientId);
    }

    [Fact]
    public void StartLogSaysWhatWasSkipped()
    {
        File.WriteAllText(_path, "STOP\nABORT\n");
        using (Start(new CommandJournal(), new NotificationTail(_path)))
        {
        }

        Assert.Contains(_log, l => l == $"notifications: following {_path}; skipped 2 lines (11 bytes) left by an earlier run; use --replay-notifications on to apply them");
    }

    [Fact]
    public void MessageSentJustBeforeStopIsStillRecorded()
    {
        var journal = new CommandJournal();
        var intake = Start(journal, new NotificationTail(_path), TimeSpan.FromMinutes(1));
        WaitFor(() => intake.Polls >= 1);
        File.AppendAllText(_path, "STOP #late\n");

        intake.StopAndDrain();

        Assert.True(intake.TryDequeue(out var late));
        Assert.Equal("late", late.Command.ClientId);
        intake.Dispose();
    }

    private CommandIntake Start(CommandJournal journal, NotificationTail tail, TimeSpan? poll = null) =>
        new(tail, new CommandParser(), journal, poll ?? TimeSpan.FromMilliseconds(5), useChangeNotifications: false, _log.Enqueue);

    private string WriteTemp(byte[] bytes)
    {
        var path = Path.Combine(_folder, "input.bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 20 s");
            Thread.Sleep(5);
        }
    }
}
