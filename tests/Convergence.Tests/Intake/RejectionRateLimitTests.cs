using System.Collections.Concurrent;
using System.Text;
using Convergence.Commands;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Output;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Intake;

/// <summary>Rejections are rate-limited with counts by reason; acknowledgements and the end line are never dropped.</summary>
public sealed class RejectionRateLimitTests
{
    private readonly ConcurrentQueue<string> _log = new();

    [Fact]
    public void FirstFewInFull_ThenOneSummaryPerIntervalWithCountsByReason_ThenFullAgainAfterAQuietInterval()
    {
        var interval = TimeSpan.FromMilliseconds(300);
        var journal = new CommandJournal(_log.Enqueue, interval);

        for (var i = 0; i < 1000; i++)
        {
            journal.Rejected($"garbage {i}", null, i % 4 == 0 ? "message is not valid UTF-8; skipped" : $"unknown command 'G{i}'; known: ABORT, STOP");
        }

        Assert.Equal(1000, journal.RejectedCount);
        Assert.Equal(RejectionLimiter.Allowance, _log.Count);
        Assert.Equal(RejectionLimiter.Allowance, journal.Snapshot(2000).Count);
        Assert.False(journal.FlushRejections());
        Assert.False(journal.NextRejectionShown);

        Thread.Sleep(interval * 2);
        Assert.True(journal.FlushRejections());
        var summary = _log.Last();
        Assert.Equal("command rejections-summary seq=11 count=990 rejected_total=1000 reasons=\"unknown command '...': 743, message is not valid UTF-8: 247\"", summary);
        var entry = journal.Snapshot(1).Single();
        Assert.Equal(JournalState.Rejected, entry.State);
        Assert.Equal("(990 more rejected messages, not shown one by one)", entry.Text);
        Assert.Equal("unknown command '...': 743, message is not valid UTF-8: 247", entry.Reason);

        // The flood is over: after a quiet interval an occasional typo is shown in full again.
        Assert.False(journal.FlushRejections(force: true));
        Thread.Sleep(interval * 2);
        Assert.True(journal.NextRejectionShown);
        Assert.Equal(12, journal.Rejected("TYPO", "x1", "unknown command 'TYPO'"));
        Assert.StartsWith("command rejected seq=12 id=x1", _log.Last(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReceivedAndAppliedAreNeverLimited()
    {
        var journal = new CommandJournal(_log.Enqueue, TimeSpan.FromHours(1));
        for (var i = 0; i < 100; i++)
        {
            journal.Rejected("x", null, "unknown command 'x'");
        }

        var seq = journal.Received(new ControlCommand(CommandKind.Stop, 0, "STOP", string.Empty, "s1"), "STOP #s1");
        journal.Applied(seq, 5, 5);
        Assert.Contains(_log, l => l.StartsWith($"command received seq={seq} id=s1", StringComparison.Ordinal));
        Assert.Contains(_log, l => l.StartsWith($"command applied seq={seq} id=s1", StringComparison.Ordinal));
        Assert.Equal(RejectionLimiter.Allowance + 2, _log.Count);
    }

    [Fact]
    public void Category_DropsTheVaryingParts()
    {
        Assert.Equal("unknown command '...'", RejectionLimiter.Category("unknown command 'FROB'; known: ABORT"));
        Assert.Equal("'...' is not a command name", RejectionLimiter.Category("'y:]' is not a command name; known: ABORT"));
        Assert.Equal("bad #id '...'", RejectionLimiter.Category("bad #id 'ǅ(x': use 1-32 letters"));
        Assert.Equal("control character", RejectionLimiter.Category("control character U+001B in message"));
        Assert.Equal("message is not valid UTF-8", RejectionLimiter.Category("message is not valid UTF-8; skipped"));
        Assert.Equal("NUL byte in message", RejectionLimiter.Category("NUL byte in message (binary data?); skipped"));
        Assert.Equal("CHANGE_TOLERANCE", RejectionLimiter.Category("CHANGE_TOLERANCE: needs a number"));
    }

    [Fact]
    public void BinaryPreview_IsPrintableAsciiWithEscapes()
    {
        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(1, 400)];
            random.NextBytes(bytes);
            bytes[0] = 0xFF;
            var preview = LineAssembler.Preview(bytes);
            Assert.All(preview, c => Assert.True(c is >= ' ' and <= '~' or '…', $"raw character U+{(int)c:X4} in '{preview}'"));
            bytes[0] = (byte)'A';
            var asText = LineAssembler.Preview(bytes);
            Assert.All(asText, c => Assert.False(char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format || c == '\uFFFD', $"raw character U+{(int)c:X4} in '{asText}'"));
            Assert.True(preview.Length <= LineAssembler.PreviewChars + 1, preview);
        }

        Assert.Equal("ab\\x00\\xFFc\\\\", LineAssembler.Preview([(byte)'a', (byte)'b', 0, 0xFF, (byte)'c', (byte)'\\']));
        Assert.Equal("ESC \\x1B[31m", LineAssembler.Preview("ESC \u001b[31m"u8));
        Assert.Equal("Grüße, τ=1e-9", LineAssembler.Preview("Grüße, τ=1e-9"u8));
    }

    [Fact]
    public void JobLog_KeepsEveryWriteAlwaysLineInOrder_WhenStdoutIsStuck()
    {
        using var stuck = new GatedWriter();
        var log = new JobLog(string.Empty, stuck);
        for (var i = 0; i < 3 * JobLog.MaxQueuedLines; i++)
        {
            log.Write($"progress {i}");
            if (i % 300 == 0)
            {
                log.WriteAlways($"command applied seq={i}");
            }
        }

        log.WriteAlways("end outcome=STOPPED");
        Assert.True(log.DroppedCount >= JobLog.MaxQueuedLines, $"dropped {log.DroppedCount}");
        stuck.Open();
        log.Dispose();

        var lines = stuck.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var essential = lines.Where(l => l.Contains("command applied", StringComparison.Ordinal) || l.Contains("end outcome", StringComparison.Ordinal)).Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]).ToList();
        var expected = Enumerable.Range(0, 3 * JobLog.MaxQueuedLines).Where(i => i % 300 == 0).Select(i => $"command applied seq={i}").Append("end outcome=STOPPED").ToList();
        Assert.Equal(expected, essential);
        Assert.Contains(lines, l => l.EndsWith("lines dropped because stdout did not keep up", StringComparison.Ordinal));
        Assert.True(lines.Length < 2 * JobLog.MaxQueuedLines, $"{lines.Length} lines");
    }

    [Fact]
    public void FloodOfBinaryLines_CostsAFewLogLines_AndTheFollowingCommandIsAccepted()
    {
        var folder = Repo.NewTempFolder("ratelimit");
        var path = Path.Combine(folder, "notifications.txt");
        var journal = new CommandJournal(_log.Enqueue, TimeSpan.FromMilliseconds(200));
        using var intake = new CommandIntake(new NotificationTail(path), new CommandParser(), journal, TimeSpan.FromMilliseconds(20), useChangeNotifications: false, _log.Enqueue);
        var flood = new byte[8 << 20];
        new Random(3).NextBytes(flood);
        using (var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Write(flood);
            file.Write("\nSTOP #after\n"u8);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (journal.ReceivedCount == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"STOP not received; rejected {journal.RejectedCount}");
            Thread.Sleep(10);
        }

        intake.StopAndDrain();
        Assert.True(intake.TryDequeue(out var stop));
        Assert.Equal("after", stop.Command.ClientId);
        Assert.True(journal.RejectedCount > 10_000, $"{journal.RejectedCount} rejected");
        var bytes = _log.Sum(l => Encoding.UTF8.GetByteCount(l) + 1);
        Assert.True(bytes < 64 * 1024, $"{bytes} bytes of log for {journal.RejectedCount} rejections");
        Assert.Contains(_log, l => l.StartsWith("command rejections-summary", StringComparison.Ordinal));
        var summarised = _log.Where(l => l.StartsWith("command rejections-summary", StringComparison.Ordinal))
            .Sum(l => long.Parse(l.Split(' ').Single(p => p.StartsWith("count=", StringComparison.Ordinal))["count=".Length..], System.Globalization.CultureInfo.InvariantCulture));
        var shown = _log.Count(l => l.StartsWith("command rejected ", StringComparison.Ordinal));
        Assert.Equal(journal.RejectedCount, summarised + shown);
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>A stdout that blocks every write until opened, as a full pipe does.</summary>
    private sealed class GatedWriter : TextWriter
    {
        private readonly ManualResetEventSlim _gate = new(false);
        private readonly StringBuilder _text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public void Open() => _gate.Set();

        public override void Write(char value)
        {
            _gate.Wait();
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public override void Write(string? value)
        {
            _gate.Wait();
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public override void WriteLine(string? value) => Write(value + "\n");

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _gate.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
