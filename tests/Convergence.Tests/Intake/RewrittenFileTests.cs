using System.Collections.Concurrent;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Tests.Infrastructure;
using static Convergence.Tests.Intake.TailTestKit;

namespace Convergence.Tests.Intake;

/// <summary>
/// A notifications file replaced by a rewrite of itself (<c>sed -i</c>, an editor's save, an atomic rewrite)
/// continues after what was read; a repeated <c>#id</c> is not applied twice.
/// </summary>
public sealed class RewrittenFileTests : IDisposable
{
    private readonly string _folder = Repo.NewTempFolder("rewrite");
    private readonly string _path;
    private readonly ConcurrentQueue<string> _log = new();

    public RewrittenFileTests() => _path = Path.Combine(_folder, "notifications.txt");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void SedInPlaceAppend_DeliversOnlyTheNewLine()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "RESTART #r1\nCHECKPOINT #c1\nSET relaxation 1.3\n");
        Assert.Equal(["RESTART #r1", "CHECKPOINT #c1", "SET relaxation 1.3"], Texts(PollOnce(tail)));
        var inode = Inode(_path);

        Sed("$a STOP #s1");

        Assert.NotEqual(inode, Inode(_path));
        Assert.Equal(["STOP #s1"], Texts(PollUntil(tail, l => l.Count >= 1)));
        Assert.Empty(PollOnce(tail));
        Assert.Equal("RESTART #r1\nCHECKPOINT #c1\nSET relaxation 1.3\n".Length, tail.ContinuedBytes);
    }

    [Fact]
    public void AtomicRewriteByRename_ContinuesAfterWhatWasRead_AndAnUnfinishedLineIsReadWhole()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "CHECKPOINT #c1\nCHANGE_TOLERANCE 1e");
        Assert.Equal(["CHECKPOINT #c1"], Texts(PollOnce(tail)));

        // A tool writes the old content plus more to a temporary file and renames it over the path.
        var temp = Path.Combine(_folder, ".notifications.tmp");
        File.WriteAllText(temp, "CHECKPOINT #c1\nCHANGE_TOLERANCE 1e-9 #t1\nSTOP #s1\n");
        File.Move(temp, _path, overwrite: true);

        var lines = PollUntil(tail, l => l.Count >= 2, TimeSpan.FromSeconds(10));
        Assert.Equal(["CHANGE_TOLERANCE 1e-9 #t1", "STOP #s1"], Texts(lines));

        // The old file's fragment is not reported as an unfinished line when its grace period ends.
        tail.RetiredGrace = TimeSpan.Zero;
        Assert.Empty(PollOnce(tail));
    }

    [Fact]
    public void ReplacementThatDiffersOrIsShorter_IsReadFromItsStart()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "CHECKPOINT #c1\nSTOP #s1\n");
        Assert.Equal(2, PollOnce(tail).Count);

        ReplaceWith("CHECKPOINT #c2\nSTOP #s1\nABORT #a1\n");
        Assert.Equal(["CHECKPOINT #c2", "STOP #s1", "ABORT #a1"], Texts(PollUntil(tail, l => l.Count >= 3)));

        ReplaceWith("STOP #s9\n");
        Assert.Equal(["STOP #s9"], Texts(PollUntil(tail, l => l.Count >= 1)));
        Assert.Equal(0, tail.ContinuedBytes);
    }

    [Fact]
    public void FileTheJobRemovedItself_IsNewEvenWhenItRepeatsTheOldContent()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "STOP #s1\n");
        Assert.Single(PollOnce(tail));
        Assert.True(tail.TryRemoveFile());
        Assert.Empty(PollOnce(tail));

        AppendText(_path, "STOP #s1\nABORT #a1\n");
        Assert.Equal(["STOP #s1", "ABORT #a1"], Texts(PollUntil(tail, l => l.Count >= 2)));
    }

    [Fact]
    public void ConsumedFingerprint_MatchesACopyAndNotAChangedFile()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "STOP #s1\nCHECKPOINT #c1\nhalf");
        Assert.Equal(2, PollOnce(tail).Count);

        var consumed = tail.Consumed;
        Assert.Equal("STOP #s1\nCHECKPOINT #c1\n".Length, consumed.Length);
        Assert.Equal(64, consumed.Sha256.Length);

        var copy = Path.Combine(_folder, "copy.txt");
        File.WriteAllText(copy, "STOP #s1\nCHECKPOINT #c1\nmore\n");
        using (var handle = File.OpenHandle(copy))
        {
            Assert.True(consumed.Matches(handle, RandomAccess.GetLength(handle)));
        }

        File.WriteAllText(copy, "STOP #s2\nCHECKPOINT #c1\nmore\n");
        using (var handle = File.OpenHandle(copy))
        {
            Assert.False(consumed.Matches(handle, RandomAccess.GetLength(handle)));
        }

        File.WriteAllText(copy, "STOP #s1\n");
        using (var handle = File.OpenHandle(copy))
        {
            Assert.False(consumed.Matches(handle, RandomAccess.GetLength(handle)));
        }
    }

    [Fact]
    public void SedRewriteWhileTheWatcherRuns_AppliesNoEarlierCommandAgain()
    {
        var journal = new CommandJournal(_log.Enqueue);
        using var intake = new CommandIntake(new NotificationTail(_path), new Convergence.Commands.CommandParser(), journal, TimeSpan.FromMilliseconds(20), useChangeNotifications: false, _log.Enqueue);
        AppendText(_path, "CHECKPOINT #c1\nRESTART #r1\n");
        WaitFor(() => journal.ReceivedCount == 2);

        Sed("$a STOP #s1");
        WaitFor(() => journal.ReceivedCount == 3);
        Thread.Sleep(200);

        Assert.Equal(3, journal.ReceivedCount);
        Assert.Equal(0, journal.RejectedCount);
        Assert.Equal(["c1", "r1", "s1"], Drain(intake));
        Assert.Contains(_log, l => l.Contains("was replaced by a file that begins with the 27 bytes already read", StringComparison.Ordinal));
    }

    [Fact]
    public void RepeatedId_IsRejectedAsADuplicateNamingTheFirstSeq()
    {
        var journal = new CommandJournal(_log.Enqueue);
        using var intake = new CommandIntake(new NotificationTail(_path), new Convergence.Commands.CommandParser(), journal, TimeSpan.FromMilliseconds(20), useChangeNotifications: false, _log.Enqueue);

        // A double click: the same message twice; then a resent id on another command; then a fresh id.
        AppendText(_path, "CHECKPOINT #k1\nCHECKPOINT #k1\nCHANGE_TOLERANCE bad #t1\nSTOP #k1\nCHANGE_TOLERANCE 1e-9 #t1\nSTOP\nSTOP\n");
        WaitFor(() => journal.ReceivedCount + journal.RejectedCount == 7);

        Assert.Equal(["k1", "t1", null, null], Drain(intake));
        var rejected = _log.Where(l => l.StartsWith("command rejected", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, rejected.Count);
        Assert.StartsWith("command rejected seq=2 id=k1 reason=\"duplicate #id 'k1': already received as seq=1; not applied again", rejected[0], StringComparison.Ordinal);
        Assert.StartsWith("command rejected seq=3 id=t1 reason=\"CHANGE_TOLERANCE", rejected[1], StringComparison.Ordinal);
        Assert.StartsWith("command rejected seq=4 id=k1 reason=\"duplicate #id 'k1': already received as seq=1", rejected[2], StringComparison.Ordinal);
    }

    private static List<string?> Drain(CommandIntake intake)
    {
        var ids = new List<string?>();
        while (intake.TryDequeue(out var pending))
        {
            ids.Add(pending.Command.ClientId);
        }

        return ids;
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            Thread.Sleep(10);
        }
    }

    private void Sed(string script)
    {
        using var sed = RunningProcess.Start("sed", ["-i", script, _path]);
        Assert.Equal(0, sed.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    private void ReplaceWith(string content)
    {
        var temp = Path.Combine(_folder, ".replace.tmp");
        File.WriteAllText(temp, content);
        File.Move(temp, _path, overwrite: true);
    }

    private static ulong Inode(string path)
    {
        using var stat = RunningProcess.Start("stat", ["-c", "%i", path]);
        Assert.Equal(0, stat.WaitForExit(TimeSpan.FromSeconds(10)));
        return ulong.Parse(stat.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
