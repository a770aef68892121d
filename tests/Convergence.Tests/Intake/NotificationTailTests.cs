using System.Text;
using Convergence.Intake;
using Convergence.Tests.Infrastructure;
using static Convergence.Tests.Intake.TailTestKit;

namespace Convergence.Tests.Intake;

public sealed class NotificationTailTests : IDisposable
{
    private readonly string _folder = Repo.NewTempFolder("tail");
    private readonly string _path;

    public NotificationTailTests() => _path = Path.Combine(_folder, "notifications.txt");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void MissingFileThatAppearsIsReadFromItsStart()
    {
        using var tail = new NotificationTail(_path);
        Assert.Empty(PollOnce(tail));
        Assert.Equal(0, tail.OpenFiles);

        Notify.Append(_path, "STOP #a1\nCHECKPOINT");
        var lines = PollUntil(tail, l => l.Count >= 2);

        Assert.Equal(["STOP #a1", "CHECKPOINT"], Texts(lines));
        Assert.Equal(0, tail.SkippedBytes);
    }

    [Fact]
    public void LineWrittenInPiecesWithPausesIsDeliveredOnceWhenItsNewlineArrives()
    {
        var go1 = Path.Combine(_folder, "go1");
        var go2 = Path.Combine(_folder, "go2");
        using var tail = new NotificationTail(_path);
        const string script = """
            printf '%s' 'CHANGE_TOL' >> "$1"
            while [ ! -e "$2" ]; do sleep 0.01; done
            printf '%s' 'ERANCE 1e' >> "$1"
            while [ ! -e "$3" ]; do sleep 0.01; done
            printf '%s\n' '-9 #p1' >> "$1"
            """;
        using var writer = RunningProcess.Start("/bin/sh", ["-c", script, "sh", _path, go1, go2]);

        WaitForLength(_path, "CHANGE_TOL".Length);
        Assert.Empty(PollOnce(tail));
        File.WriteAllText(go1, string.Empty);

        WaitForLength(_path, "CHANGE_TOLERANCE 1e".Length);
        Assert.Empty(PollOnce(tail));
        Assert.Equal("CHANGE_TOLERANCE 1e".Length, tail.BufferedBytes);
        File.WriteAllText(go2, string.Empty);

        var lines = PollUntil(tail, l => l.Count >= 1);
        Assert.Equal(0, writer.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.Equal(["CHANGE_TOLERANCE 1e-9 #p1"], Texts(lines));
        Assert.Empty(PollOnce(tail));
        Assert.Equal(0, tail.BufferedBytes);
    }

    [Fact]
    public void FileThatShrinksIsReadAgainFromItsStart()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "CHANGE_TOLERANCE 1e-3\nSTOP\nCHECK");
        Assert.Equal(["CHANGE_TOLERANCE 1e-3", "STOP"], Texts(PollOnce(tail)));

        // Truncated in place (same file), then a short message: shorter than what had been read.
        using (var truncate = RunningProcess.Start("/bin/sh", ["-c", ": > \"$1\"; printf 'ABORT\\n' >> \"$1\"", "sh", _path]))
        {
            Assert.Equal(0, truncate.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        var lines = PollOnce(tail);

        Assert.Equal(2, lines.Count);
        Assert.Null(lines[0].Text);
        Assert.Contains("truncated", lines[0].Rejection, StringComparison.Ordinal);
        Assert.Equal("CHECK", lines[0].Preview);
        Assert.Equal("ABORT", lines[1].Text);
    }

    [Fact]
    public void OldContentAtStartIsSkippedAndCounted()
    {
        File.WriteAllText(_path, "STOP\nABORT\n\nCHECKPOINT\n");

        using var tail = new NotificationTail(_path);
        Assert.Equal(4, tail.SkippedLines);
        Assert.Equal(23, tail.SkippedBytes);
        Assert.Empty(PollOnce(tail));

        Notify.Append(_path, "RESTART");
        Assert.Equal(["RESTART"], Texts(PollUntil(tail, l => l.Count >= 1)));
    }

    [Fact]
    public void OldContentIsReplayedWhenAskedTo()
    {
        File.WriteAllText(_path, "STOP\nABORT\nCHECK");

        using var tail = new NotificationTail(_path, replayExisting: true);
        Assert.Equal(0, tail.SkippedBytes);
        Assert.Equal(["STOP", "ABORT"], Texts(PollOnce(tail)));

        AppendText(_path, "POINT\n");
        Assert.Equal(["CHECKPOINT"], Texts(PollOnce(tail)));
    }

    [Fact]
    public void UnfinishedLineAtStartBeingWrittenIsSkippedUpToItsEndAndReported()
    {
        File.WriteAllText(_path, "STOP\nCHANGE_TOLERANCE 1e");

        using var tail = new NotificationTail(_path);
        Assert.Equal(2, tail.SkippedLines);
        AppendText(_path, "-12\nABORT\n");
        var lines = PollOnce(tail);

        Assert.Equal(2, lines.Count);
        Assert.Null(lines[0].Text);
        Assert.Contains("being written when the job started", lines[0].Rejection, StringComparison.Ordinal);
        Assert.Equal("-12", lines[0].Preview);
        Assert.Equal("ABORT", lines[1].Text);
    }

    [Fact]
    public void StaleUnfinishedLineAtStartDoesNotSwallowTheNextMessage()
    {
        File.WriteAllText(_path, "STOP\nCHANGE_TOL");
        File.SetLastWriteTimeUtc(_path, DateTime.UtcNow - TimeSpan.FromMinutes(2));

        using var tail = new NotificationTail(_path);
        Notify.Append(_path, "ABORT #x");

        Assert.Equal(["ABORT #x"], Texts(PollUntil(tail, l => l.Count >= 1)));
    }

    [Fact]
    public void HundredMegabyteFileCostsOnlyItsNewBytesPerPoll()
    {
        var line = "CHANGE_TOLERANCE 1e-8 #old\n"u8.ToArray();
        var block = new byte[1 << 20];
        for (var i = 0; i + line.Length <= block.Length; i += line.Length)
        {
            line.CopyTo(block, i);
        }

        var blockLength = block.Length / line.Length * line.Length;
        using (var stream = new FileStream(_path, FileMode.Create, FileAccess.Write))
        {
            while (stream.Length < 100L << 20)
            {
                stream.Write(block, 0, blockLength);
            }
        }

        var size = new FileInfo(_path).Length;
        using var tail = new NotificationTail(_path);

        // Start-up looks at the last byte only: too large to count lines, never read whole.
        Assert.Equal(size, tail.SkippedBytes);
        Assert.Equal(-1, tail.SkippedLines);
        Assert.True(tail.BytesRead <= 1, $"start-up read {tail.BytesRead} bytes");

        Assert.Empty(PollOnce(tail));
        Assert.Equal(0, tail.LastPollBytesRead);

        Notify.Append(_path, "STOP #new");
        var lines = PollUntil(tail, l => l.Count >= 1);

        Assert.Equal(["STOP #new"], Texts(lines));
        Assert.True(tail.BytesRead <= 1 + "STOP #new\n".Length, $"read {tail.BytesRead} bytes in all");
        Assert.Equal(0, PollOnce(tail).Count + tail.LastPollBytesRead);
    }

    [Fact]
    public void TenMegabyteLineWithoutNewlineIsNeverHeldAndReportedOnce()
    {
        const int limit = 4096;
        using var tail = new NotificationTail(_path, maxLineBytes: limit);
        Assert.Empty(PollOnce(tail));
        var megabyte = new byte[1 << 20];
        Array.Fill(megabyte, (byte)'A');
        var lines = new List<TailLine>();

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10; i++)
        {
            AppendBytes(_path, megabyte);
            tail.Poll(lines);
            Assert.True(tail.BufferedBytes <= limit, $"buffered {tail.BufferedBytes} bytes");
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.Equal(10L << 20, tail.BytesRead);
        var rejection = Assert.Single(lines);
        Assert.Null(rejection.Text);
        Assert.Contains($"longer than the limit of {limit} bytes", rejection.Rejection, StringComparison.Ordinal);

        // Reading 10 MB must not allocate anything near 10 MB (the file writes above allocate a little).
        Assert.True(allocated < 256 * 1024, $"allocated {allocated} bytes while reading 10 MB");

        AppendText(_path, "\nSTOP\n");
        Assert.Equal(["STOP"], Texts(PollOnce(tail)));
    }

    [Fact]
    public void RandomBytesYieldOneEntryPerLineAndValidLinesIntact()
    {
        const int limit = 512;
        var random = new Random(20261125);
        using var tail = new NotificationTail(_path, maxLineBytes: limit);
        var data = new MemoryStream();
        for (var i = 0; i < 400; i++)
        {
            if (random.Next(3) == 0)
            {
                data.Write(Encoding.UTF8.GetBytes($"CHANGE_TOLERANCE {random.Next(1, 9)}e-{random.Next(1, 12)} #r{i}\n"));
                continue;
            }

            var noise = new byte[random.Next(0, random.Next(2) == 0 ? 64 : 1500)];
            random.NextBytes(noise);
            data.Write(noise);
            data.WriteByte((byte)'\n');
        }

        var bytes = data.ToArray();
        var lines = new List<TailLine>();
        for (var at = 0; at < bytes.Length;)
        {
            var piece = Math.Min(bytes.Length - at, random.Next(1, 3000));
            AppendBytes(_path, bytes.AsSpan(at, piece));
            at += piece;
            tail.Poll(lines);
        }

        var expected = Segments(bytes).Select(s => Expect(s, limit)).ToList();
        Assert.Equal(expected.Count, lines.Count);
        var parser = new Convergence.Commands.CommandParser();
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], lines[i].Text);
            Assert.True(lines[i].Text is not null ^ lines[i].Rejection is not null, $"line {i}: exactly one of text and rejection");
            if (lines[i].Text is { } text)
            {
                var result = parser.Parse(text);
                Assert.True(result.IsBlank || (result.Command is null ^ result.Rejection is null), $"line {i}: one outcome");
            }
            else
            {
                Assert.DoesNotContain('\n', lines[i].Preview!);
            }
        }

        Assert.True(lines.Count(l => l.Text?.StartsWith("CHANGE_TOLERANCE", StringComparison.Ordinal) == true) > 100);
    }

    [Fact]
    public void FileRenamedAwayAndBackIsNotReadTwice()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "STOP\n");
        Assert.Equal(["STOP"], Texts(PollOnce(tail)));

        var aside = Path.Combine(_folder, "aside.txt");
        Assert.True(tail.TryRemoveFile(aside));
        Assert.Empty(PollOnce(tail));
        File.Move(aside, _path);
        AppendText(_path, "ABORT\n");

        Assert.Equal(["ABORT"], Texts(PollOnce(tail)));
    }

    [Fact]
    public void SenderStillWritingIntoADeletedFileIsDrainedBeforeTheNewFile()
    {
        using var tail = new NotificationTail(_path);
        AppendText(_path, "STOP #1\n");
        Assert.Single(PollOnce(tail));

        using (var sender = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            sender.Write("CHECK"u8);
            sender.Flush();
            Assert.True(tail.TryRemoveFile());
            Assert.Empty(PollOnce(tail));
            sender.Write("POINT #2\n"u8);
        }

        Notify.Append(_path, "ABORT #3");
        var lines = PollUntil(tail, l => l.Count >= 2);

        Assert.Equal(["CHECKPOINT #2", "ABORT #3"], Texts(lines));
    }

    [Fact]
    public void RemovingAFileTheTailHasNotOpenedIsRefused()
    {
        using var tail = new NotificationTail(_path);
        File.WriteAllText(_path, "STOP\n");

        Assert.False(tail.TryRemoveFile());
        Assert.True(File.Exists(_path));
        Assert.Equal(["STOP"], Texts(PollOnce(tail)));
        Assert.True(tail.TryRemoveFile());
        Assert.False(File.Exists(_path));
    }

    [Fact]
    public void UnfinishedLineOfAReplacedFileIsReportedWhenItsGracePeriodEnds()
    {
        using var tail = new NotificationTail(_path) { RetiredGrace = TimeSpan.Zero };
        AppendText(_path, "STOP\nCHANGE_TOLERANCE 1e");
        Assert.Single(PollOnce(tail));
        Assert.True(tail.TryRemoveFile());

        var lines = PollOnce(tail);

        var rejection = Assert.Single(lines);
        Assert.Contains("deleted or replaced", rejection.Rejection, StringComparison.Ordinal);
        Assert.Equal("CHANGE_TOLERANCE 1e", rejection.Preview);
        Assert.Equal(0, tail.OpenFiles);
    }

    [Fact]
    public void DirectoryAtThePathIsAWarningNotAFailure()
    {
        Directory.CreateDirectory(_path);
        using var tail = new NotificationTail(_path);

        Assert.Empty(PollOnce(tail));
        Assert.Contains("not a regular file", tail.Warning, StringComparison.Ordinal);

        Directory.Delete(_path);
        AppendText(_path, "STOP\n");
        Assert.Equal(["STOP"], Texts(PollOnce(tail)));
        Assert.Null(tail.Warning);
    }

    [Fact]
    public void FloodIsReadInBoundedSteps()
    {
        using var tail = new NotificationTail(_path) { MaxBytesPerPoll = 1000 };
        AppendText(_path, string.Concat(Enumerable.Range(0, 500).Select(i => $"CHANGE_TOLERANCE 1e-{i % 12 + 1} #f{i}\n")));

        var lines = new List<TailLine>();
        var polls = 0;
        do
        {
            tail.Poll(lines);
            polls++;
            Assert.True(tail.LastPollBytesRead <= 1000);
        }
        while (tail.HasMore);

        Assert.Equal(500, lines.Count);
        Assert.True(polls > 10);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"CHANGE_TOLERANCE 1e-{i % 12 + 1} #f{i}"), Texts(lines));
    }

    private static IEnumerable<byte[]> Segments(byte[] bytes)
    {
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                yield return bytes[start..i];
                start = i + 1;
            }
        }
    }

    /// <summary>What the tail must make of one line: its text, or null for a rejection.</summary>
    private static string? Expect(byte[] segment, int limit)
    {
        if (segment.Length > limit)
        {
            return null;
        }

        var body = segment.Length > 0 && segment[^1] == (byte)'\r' ? segment[..^1] : segment;
        if (Array.IndexOf(body, (byte)0) >= 0)
        {
            return null;
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
