using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Convergence.Journal;
using Convergence.Status;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Status;

/// <summary>The reporter's iteration rate (progress line, page, status.json) after a resume.</summary>
public sealed partial class StatusReporterRateTests
{
    [Fact]
    public void AfterAResume_TheRateCountsOnlyIterationsRunInThisJob()
    {
        var folder = Repo.NewTempFolder("reporter-rate");
        var live = new LiveStatus("rate", "test", 1, 1e-6, [], new CommandJournal());
        var lines = new ConcurrentQueue<string>();
        using var reporter = new StatusReporter(live, Path.Combine(folder, "status.html"), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100), lines.Enqueue);

        // Resumed at total 9000, then 10 iterations every 20 ms or more: at most 500 it/s. Counting the
        // checkpoint's 9000 in the first window would show thousands.
        live.Record(900, 9000, 1e-3, 1e-6);
        var total = 9000L;
        var clock = Stopwatch.StartNew();
        // The rate is measured over half-second windows: wait for a few of them and their progress lines.
        while (clock.Elapsed < TimeSpan.FromSeconds(2) || lines.Count(l => Rate().Match(l) is { Success: true } m && m.Groups[1].Value != "0") < 3)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "fewer than 3 progress lines with a measured rate in 30 s");
            total += 10;
            live.Record(total - 8100, total, 1e-3, 1e-6);
            Thread.Sleep(20);
        }

        var rates = lines.Select(l => Rate().Match(l)).Where(m => m.Success).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Contains(rates, r => r > 0);
        Assert.All(rates, r => Assert.InRange(r, 0, 600));
    }

    [GeneratedRegex(@"^progress .* it/s=(\d+) ")]
    private static partial Regex Rate();
}
