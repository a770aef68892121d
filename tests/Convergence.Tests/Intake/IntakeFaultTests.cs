using System.Collections.Concurrent;
using Convergence.Commands;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Tests.Infrastructure;
using static Convergence.Tests.Intake.TailTestKit;

namespace Convergence.Tests.Intake;

/// <summary>
/// Faults on the file system (issue 21): an error on one file never stops the intake, nothing at the path is
/// followed or blocks, and what was skipped or read before is never applied again after a rewrite.
/// </summary>
public sealed class IntakeFaultTests : IDisposable
{
    private readonly string _folder = Repo.NewTempFolder("faults");
    private readonly string _path;
    private readonly ConcurrentQueue<string> _log = new();

    public IntakeFaultTests() => _path = Path.Combine(_folder, "notifications.txt");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ReplacedFileTruncatedAfterItWasMovedAway_DoesNotStopTheIntake()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "CHECKPOINT #c1\n");
        Assert.Equal(["CHECKPOINT #c1"], Texts(PollOnce(tail)));

        // In one go: move the file away, truncate the moved file, write a new file with two commands.
        var moved = Path.Combine(_folder, "moved.txt");
        File.Move(_path, moved);
        File.WriteAllText(moved, string.Empty);
        File.WriteAllText(_path, "SET relaxation 1.2 #a\nSET relaxation 1.3 #b\n");
        Assert.Equal(["SET relaxation 1.2 #a", "SET relaxation 1.3 #b"], Texts(PollUntil(tail, l => l.Count >= 2)));

        AppendText(_path, "ABORT #x\n");
        Assert.Equal(["ABORT #x"], Texts(PollUntil(tail, l => l.Count >= 1)));
        Assert.Null(tail.Warning);
    }

    [Fact]
    public void ManyReplacements_LeakNoDescriptors_AndReplacedFilesExpire()
    {
        var before = Posix.OpenDescriptorsUnder(_folder);
        using (var tail = new NotificationTail(_path))
        {
            tail.RetiredGrace = TimeSpan.Zero;
            for (var i = 0; i < 40; i++)
            {
                AppendText(_path, $"CHECKPOINT #c{i}\n");
                Assert.Equal([$"CHECKPOINT #c{i}"], Texts(PollUntil(tail, l => l.Count >= 1)));
                var moved = Path.Combine(_folder, $"moved-{i}.txt");
                File.Move(_path, moved);
                File.WriteAllText(moved, string.Empty);
            }

            AppendText(_path, "STOP #end\n");
            Assert.Equal(["STOP #end"], Texts(PollUntil(tail, l => l.Count >= 1)));
            PollOnce(tail);
            Assert.Equal(1, tail.OpenFiles);
            Assert.Equal(before + 1, Posix.OpenDescriptorsUnder(_folder));
        }

        Assert.Equal(before, Posix.OpenDescriptorsUnder(_folder));
    }

    [Fact]
    public void ReadErrorsOnAReplacedFile_AreReported_ItExpires_AndTheCurrentFileIsReadInOrder()
    {
        var reader = new FaultyReader(1);
        using var tail = new NotificationTail(_path, 4096, false, null, reader) { RetiredGrace = TimeSpan.FromMilliseconds(300) };
        AppendText(_path, "CHECKPOINT #c1\n");
        Assert.Equal(["CHECKPOINT #c1"], Texts(PollOnce(tail)));
        using (var handle = File.OpenHandle(_path))
        {
            reader.MakeUnreadable(UnixFileStatus.Stat(handle).Identity.Inode);
        }

        AppendText(_path, "CHECKPOINT #lost\n");
        File.Move(_path, Path.Combine(_folder, "moved.txt"));
        AppendText(_path, "STOP #s1\n");

        // The replaced file fails: reported, and the new file waits behind it (order) until it is closed.
        Assert.Empty(PollOnce(tail));
        Assert.Contains("cannot read a replaced notifications file", tail.Warning, StringComparison.Ordinal);
        Assert.Contains("Input/output error", tail.Warning, StringComparison.Ordinal);
        Assert.Equal(["STOP #s1"], Texts(PollUntil(tail, l => l.Count >= 1)));
        Assert.Equal(1, tail.OpenFiles);
        Assert.Null(tail.Warning);
    }

    [Fact]
    public void EintrIsRetried_EioIsRetriedAtTheNextPoll_EstaleReopensTheSameFile()
    {
        var reader = new FaultyReader(7);
        using var tail = new NotificationTail(_path, 4096, false, null, reader);
        AppendText(_path, "CHECKPOINT #c1\n");
        Assert.Single(PollOnce(tail));

        reader.Probability = 1;
        AppendText(_path, "CHECKPOINT #c2\n");
        for (var i = 0; i < 20; i++)
        {
            Assert.Empty(PollOnce(tail));
        }

        reader.Probability = 0;
        AppendText(_path, "STOP #s1\n");
        Assert.Equal(["CHECKPOINT #c2", "STOP #s1"], Texts(PollUntil(tail, l => l.Count >= 2)));
        Assert.True(reader.Injected >= 20);
    }

    [Fact]
    public void SymlinkAtThePath_IsRefusedWithAReason_AndItsTargetIsNeverRead()
    {
        var elsewhere = Repo.NewTempFolder("faults-target");
        try
        {
            var target = Path.Combine(elsewhere, "thesis.txt");
            File.WriteAllText(target, "ABORT #old\n");
            File.CreateSymbolicLink(_path, target);
            using var tail = new NotificationTail(_path);
            Assert.Equal(0, tail.SkippedBytes);
            AppendText(target, "ABORT #new\n");
            Assert.Empty(PollOnce(tail));
            Assert.Equal($"{_path} is a symbolic link, not a regular file; refused, waiting for a regular file", tail.Warning);
            Assert.Equal(0, tail.BytesRead);

            // A regular file in its place is read from its start.
            File.Delete(_path);
            File.WriteAllText(_path, "STOP #s1\n");
            Assert.Equal(["STOP #s1"], Texts(PollUntil(tail, l => l.Count >= 1)));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public void OpeningASymlinkFifoOrFolder_IsRefusedAtOnceWithoutBlocking()
    {
        var target = Path.Combine(_folder, "target.txt");
        File.WriteAllText(target, "x\n");
        var link = Path.Combine(_folder, "link");
        File.CreateSymbolicLink(link, target);
        var fifo = Path.Combine(_folder, "fifo");
        Posix.MakeFifo(fifo);
        var folder = Path.Combine(_folder, "folder");
        Directory.CreateDirectory(folder);

        (bool, string?)[] results = [];
        Assert.True(FinishesWithin(TimeSpan.FromSeconds(20), () => results = [.. new[] { link, fifo, folder, target }.Select(p =>
        {
            using var handle = UnixFileStatus.OpenRegularFile(p, out _, out var refusal);
            return (handle is null, refusal);
        })]), "opening a FIFO blocked");
        Assert.Equal((true, $"{link} is a symbolic link; refused (links in the service folder are not followed)"), results[0]);
        Assert.Equal((true, $"{fifo} is a FIFO, not a regular file; refused"), results[1]);
        Assert.Equal((true, $"{folder} is a directory, not a regular file; refused"), results[2]);
        Assert.Equal((false, null), results[3]);
    }

    [Fact]
    public void FifoSwappedInBetweenTheCheckAndTheOpen_NeverBlocksThePoll()
    {
        // A swapper alternates a FIFO and a regular file at the path as fast as it can; with a check-then-open
        // the open lands on the FIFO sooner or later and blocks for good (no writer ever comes).
        using var tail = new NotificationTail(_path);
        var stop = false;
        var swapper = new Thread(() =>
        {
            var fifo = Path.Combine(_folder, ".fifo");
            var file = Path.Combine(_folder, ".file");
            while (!Volatile.Read(ref stop))
            {
                Posix.MakeFifo(fifo);
                File.Move(fifo, _path, overwrite: true);
                File.WriteAllText(file, string.Empty);
                File.Move(file, _path, overwrite: true);
            }
        });
        swapper.Start();
        var finished = FinishesWithin(TimeSpan.FromSeconds(60), () =>
        {
            for (var i = 0; i < 3000; i++)
            {
                PollOnce(tail);
            }
        });
        Volatile.Write(ref stop, true);
        swapper.Join();
        if (!finished)
        {
            // Unblock the stuck open so the test process can go on.
            using var writer = new FileStream(_path, FileMode.Open, FileAccess.Write);
        }

        Assert.True(finished, "a poll blocked on a FIFO");
    }

    [Fact]
    public void FifoAtThePathAtStart_DoesNotBlockTheConstructor_AndIsReported()
    {
        Posix.MakeFifo(_path);
        var journal = new CommandJournal(_log.Enqueue);
        CommandIntake? started = null;
        Assert.True(FinishesWithin(TimeSpan.FromSeconds(20), () => started = new CommandIntake(new NotificationTail(_path), new CommandParser(), journal, TimeSpan.FromMilliseconds(10), useChangeNotifications: false, _log.Enqueue)), "the start blocked on a FIFO");
        using var intake = started!;
        WaitFor(() => _log.Any(l => l.Contains("is a FIFO, not a regular file; refused", StringComparison.Ordinal)));
        File.Delete(_path);
        Notify.Append(_path, "STOP #s1");
        WaitFor(() => journal.ReceivedCount == 1);
        Assert.Single(_log, l => l.Contains("is a FIFO", StringComparison.Ordinal));
    }

    [Fact]
    public void TheJobEnd_DoesNotWaitForeverForAStuckWatcher()
    {
        File.WriteAllText(_path, string.Empty);
        using var hang = new ManualResetEventSlim(false);
        var reader = new FaultyReader(3);
        var journal = new CommandJournal(_log.Enqueue);
        var intake = new CommandIntake(new NotificationTail(_path, 4096, false, null, reader), new CommandParser(), journal, TimeSpan.FromMilliseconds(10), useChangeNotifications: false, _log.Enqueue)
        {
            JoinTimeout = TimeSpan.FromSeconds(1),
        };
        try
        {
            reader.Hang = hang;
            AppendText(_path, "STOP\n");
            Thread.Sleep(200);
            Assert.True(FinishesWithin(TimeSpan.FromSeconds(30), intake.StopAndDrain), "the job end waited for the stuck watcher");
            Assert.Contains(_log, l => l.StartsWith("notifications: the watcher did not stop within 1 s", StringComparison.Ordinal));
            Assert.Null(intake.Position);
        }
        finally
        {
            hang.Set();
            intake.Dispose();
        }
    }

    [Fact]
    public void FlappingReadErrors_AreLoggedRateLimited_AndTheIntakeKeepsHearing()
    {
        File.WriteAllText(_path, string.Empty);
        var reader = new FaultyReader(11) { Probability = 0.5 };
        var journal = new CommandJournal(_log.Enqueue);
        using var intake = new CommandIntake(new NotificationTail(_path, 4096, false, null, reader), new CommandParser(), journal, TimeSpan.FromMilliseconds(5), useChangeNotifications: false, _log.Enqueue);
        for (var i = 0; i < 20; i++)
        {
            AppendText(_path, $"CHECKPOINT #m{i}\n");
            Thread.Sleep(20);
        }

        WaitFor(() => intake.Polls > 300);
        reader.Heal();
        AppendText(_path, "STOP #end\n");
        WaitFor(() => journal.ReceivedCount == 21);
        var problems = _log.Count(l => l.StartsWith("notifications: cannot read", StringComparison.Ordinal));
        Assert.InRange(problems, 1, 8);
        var ids = new List<string?>();
        while (intake.TryDequeue(out var pending))
        {
            ids.Add(pending.Command.ClientId);
        }

        Assert.Equal([.. Enumerable.Range(0, 20).Select(i => $"m{i}"), "end"], ids);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UnfinishedLastLineAtStart_IsNeverAppliedAfterALaterSedInPlace(bool recent)
    {
        File.WriteAllText(_path, "CHECKPOINT #c0\nABORT");
        if (!recent)
        {
            File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddMinutes(-5));
        }

        using var tail = new NotificationTail(_path);
        Assert.Empty(PollOnce(tail));
        Sed("$a STOP #s1");

        var lines = PollUntil(tail, l => l.Any(x => x.Text == "STOP #s1"));
        Assert.Equal(["STOP #s1"], lines.Where(l => !string.IsNullOrEmpty(l.Text)).Select(l => l.Text));
        Assert.DoesNotContain(lines, l => l.Text?.Contains("ABORT", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void ChainedLink_AfterASedInPlaceBetweenLinks_DoesNotApplyTheEarlierMessagesAgain()
    {
        NotificationPosition position;
        using (var first = new NotificationTail(_path))
        {
            AppendText(_path, "RESTART #r1\nCHECKPOINT #c1\n");
            Assert.Equal(["RESTART #r1", "CHECKPOINT #c1"], Texts(PollOnce(first)));
            position = first.TakePosition()!;
        }

        Sed("$a STOP");
        File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddSeconds(10));
        using var next = new NotificationTail(_path, 4096, replayExisting: false, NotificationPosition.Parse(position.Format(), out _));
        Assert.Contains("rewritten since the earlier job stopped reading", next.ContinuedFrom, StringComparison.Ordinal);
        Assert.Equal(["STOP"], Texts(PollOnce(next)));

        // A rewrite during the next link is recognised as well.
        Sed("$a CHECKPOINT #c2");
        Assert.Equal(["CHECKPOINT #c2"], Texts(PollUntil(next, l => l.Count >= 1)));
    }

    [Fact]
    public void ChainedLink_ContinuingInTheSameFile_RecognisesASedInPlaceDuringTheLink()
    {
        NotificationPosition position;
        using (var first = new NotificationTail(_path))
        {
            AppendText(_path, "RESTART #r1\n");
            Assert.Single(PollOnce(first));
            position = first.TakePosition()!;
        }

        // The next link starts where the first stopped and, before it has read a line, the file is rewritten.
        using var next = new NotificationTail(_path, 4096, replayExisting: false, position);
        Assert.Empty(PollOnce(next));
        Sed("$a STOP");
        Assert.Equal(["STOP"], Texts(PollUntil(next, l => l.Count >= 1)));
    }

    [Fact]
    public void AcknowledgementsOfCommandsWhoseEntriesWereEvicted_StillNameTheirIdAndText()
    {
        var journal = new CommandJournal(_log.Enqueue);
        var parser = new CommandParser();
        var first = journal.Received(parser.Parse("CHECKPOINT #first").Command!, "CHECKPOINT #first");
        var second = journal.Received(parser.Parse("STOP #second").Command!, "STOP #second");
        for (var i = 0; i < CommandJournal.Capacity + 10; i++)
        {
            journal.Received(parser.Parse($"CHECKPOINT #w{i}").Command!, $"CHECKPOINT #w{i}");
        }

        journal.Applied(first, 5, 5);
        journal.Declined(second, "the job ended before this command could be applied");

        Assert.Contains(_log, l => l == "command applied seq=1 id=first iteration=5 total=5 text=\"CHECKPOINT #first\"");
        Assert.Contains(_log, l => l == "command rejected seq=2 id=second reason=\"the job ended before this command could be applied\" text=\"STOP #second\"");
    }

    /// <summary>Runs <paramref name="action"/> on a thread of its own; false when it has not finished in time (it is left running).</summary>
    private static bool FinishesWithin(TimeSpan timeout, Action action)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception ex)
            {
                error = ex;
            }
        })
        {
            IsBackground = true,
        };
        thread.Start();
        if (!thread.Join(timeout))
        {
            return false;
        }

        return error is null ? true : throw new Xunit.Sdk.XunitException($"failed: {error}");
    }

    private void Sed(string script)
    {
        using var sed = RunningProcess.Start("sed", ["-i", script, _path]);
        Assert.Equal(0, sed.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            Thread.Sleep(10);
        }
    }
}
