using System.Diagnostics;
using AngleSharp.Html.Parser;
using Convergence.Commands;
using Convergence.Journal;
using Convergence.Output;
using Convergence.Status;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Status;

public sealed class AtomicStatusWriteTests
{
    [Fact]
    public void ReaderPollingWhilePageIsRewrittenThousandsOfTimes_NeverSeesATruncatedPage()
    {
        var folder = Repo.NewTempFolder("atomic-status");
        var path = Path.Combine(folder, "status.html");
        const int rewrites = 2000;

        // Pages of very different sizes, so a torn read would show as a wrong ending or a bad parse.
        var small = StatusPage.Render(SampleSnapshots.Running(points: 3));
        var large = StatusPage.Render(SampleSnapshots.Running(points: 2000));
        Assert.True(large.Length > small.Length + 4000, $"pages of {small.Length} and {large.Length} chars");
        AtomicFile.WriteAllText(path, small);

        var writerDone = 0;
        var reads = 0;
        var failures = new List<string>();
        var reader = new Thread(() =>
        {
            var parser = new HtmlParser();
            while (Volatile.Read(ref writerDone) == 0)
            {
                var text = File.ReadAllText(path);
                reads++;
                if (!text.StartsWith("<!DOCTYPE html>", StringComparison.Ordinal) || !text.EndsWith("</html>\n", StringComparison.Ordinal)
                    || (text.Length != small.Length && text.Length != large.Length))
                {
                    failures.Add($"read {reads}: {text.Length} chars, ends with '{text[Math.Max(0, text.Length - 20)..]}'");
                }
                else if (reads % 100 == 0 && parser.ParseDocument(text).QuerySelector("#journal") is null)
                {
                    failures.Add($"read {reads}: parsed without a journal");
                }
            }
        });
        reader.Start();
        for (var i = 0; i < rewrites; i++)
        {
            AtomicFile.WriteAllText(path, i % 2 == 0 ? large : small);
        }

        Volatile.Write(ref writerDone, 1);
        reader.Join();

        Assert.Empty(failures);
        Assert.True(reads >= 100, $"the reader overlapped only {reads} reads with the writer");
        Assert.Equal(["status.html"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public void Reporter_RewritesAtAThrottledRate_AndWritesTheFinalStateOnce()
    {
        var folder = Repo.NewTempFolder("reporter");
        var path = Path.Combine(folder, "status.html");
        var live = new LiveStatus("throttle", "test", 1, 1e-6, [], new CommandJournal());
        var interval = TimeSpan.FromMilliseconds(100);
        var started = Stopwatch.StartNew();
        using var reporter = new StatusReporter(live, path, interval, TimeSpan.FromSeconds(30), _ => { });

        // Far more recorded states than pages: the page follows at its own pace.
        var deadline = Stopwatch.StartNew();
        long iteration = 0;
        while (reporter.PagesWritten < 5)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "the reporter wrote fewer than 5 pages in 10 s");
            for (var k = 0; k < 1000; k++)
            {
                iteration++;
                live.Record(iteration, iteration, 1.0 / iteration, 1e-6);
            }

            Thread.Sleep(1);
        }

        live.Finish(JobState.Stopped, iteration, iteration, 1.0 / iteration, 1e-6, "STOP applied");
        reporter.StopAndWriteFinal();
        var elapsed = started.Elapsed;
        var pages = reporter.PagesWritten;

        Assert.True(iteration > 10 * pages, $"{iteration} records produced {pages} pages");
        Assert.InRange(pages, 5, (long)(elapsed / interval) + 3);
        var doc = new HtmlParser().ParseDocument(File.ReadAllText(path));
        Assert.Equal("stopped", doc.QuerySelector("#state")?.TextContent);
        Assert.Equal("true", doc.Body!.GetAttribute("data-finished"));
        Assert.Equal(StatusText.Count(iteration), doc.QuerySelector("#iteration")?.TextContent);

        reporter.StopAndWriteFinal();
        Assert.Equal(pages, reporter.PagesWritten);
    }

    [Fact]
    public void Reporter_PageShowsJournalEntriesAsTheyChange()
    {
        var folder = Repo.NewTempFolder("reporter-journal");
        var path = Path.Combine(folder, "status.html");
        var journal = new CommandJournal();
        var live = new LiveStatus("journal", "test", 1, 1e-6, [], journal);
        using var reporter = new StatusReporter(live, path, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30), _ => { });
        live.Record(1, 1, 0.5, 1e-6);
        var seq = journal.Received(new ControlCommand(CommandKind.Checkpoint, 0, "CHECKPOINT", string.Empty, "k9"), "CHECKPOINT #k9");

        WaitForOutcome(path, "k9", "received, waiting for the next sync");
        journal.Applied(seq, 40, 40);
        WaitForOutcome(path, "k9", "applied at iteration 40");
    }

    private static void WaitForOutcome(string path, string id, string outcome)
    {
        var parser = new HtmlParser();
        var deadline = Stopwatch.StartNew();
        string? seen = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (File.Exists(path))
            {
                seen = parser.ParseDocument(File.ReadAllText(path)).QuerySelector($"#journal tr[data-id='{id}']")?.GetAttribute("data-outcome");
                if (seen == outcome)
                {
                    return;
                }
            }

            Thread.Sleep(20);
        }

        Assert.Fail($"the page never showed '{outcome}' for #{id}; last seen: '{seen}'");
    }
}
