using System.Globalization;
using System.Text.RegularExpressions;
using Convergence.Tests.Checkpoints;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Intake;

/// <summary>
/// 200 MB of random bytes appended by a second process while the 2-rank Poisson job runs under mpirun:
/// the log stays small and printable, every real command before, inside and after the flood is received
/// and applied, and the job ends as asked.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed partial class FloodJobTests(ITestOutputHelper output)
{
    private const int FloodMegabytes = 200;

    [Fact]
    public void RandomBytesFlood_LogStaysBoundedAndPrintable_NoAcknowledgementDropped_LaterCommandApplied()
    {
        var service = Repo.NewTempFolder("flood-job");
        var notifications = Path.Combine(service, "notifications.txt");
        using var job = PoissonJob.Start(service, "--slow-ms", "2", "--tolerance", "1e-200", "--max-iterations", "100000000");
        job.WaitForOutput("notifications: following", TimeSpan.FromSeconds(90));

        // A second process writes the flood, with real commands before, in the middle and after it, each on its own line.
        var script = string.Create(CultureInfo.InvariantCulture, $"""
            set -e
            f="$1"
            printf 'CHANGE_TOLERANCE 1e-150 #before\n' >> "$f"
            head -c {FloodMegabytes / 2}M /dev/urandom >> "$f"
            printf '\nCHANGE_TOLERANCE 1e-160 #mid\n' >> "$f"
            head -c {FloodMegabytes / 2}M /dev/urandom >> "$f"
            printf '\nSTOP #after\n' >> "$f"
            """);
        using (var writer = RunningProcess.Start("/bin/sh", ["-c", script, "flood", notifications]))
        {
            Assert.Equal(0, writer.WaitForExit(TimeSpan.FromMinutes(3)));
        }

        Assert.True(new FileInfo(notifications).Length > FloodMegabytes * 1_000_000L);
        var exit = job.WaitForExit(TimeSpan.FromMinutes(5));
        var log = job.Stdout;
        output.WriteLine($"log: {log.Length} characters; last lines:\n{string.Join('\n', log.Split('\n').TakeLast(12))}");
        Assert.True(exit == 0, job.Output[..Math.Min(job.Output.Length, 20_000)]);

        // Bounded and printable: no raw byte of the flood reaches the log (what is valid UTF-8 text may show as text;
        // the one tab is MPICH's own, in its version string on the start line).
        Assert.True(log.Length < 1_000_000, $"log of {log.Length} characters");
        var raw = log.Where(c => c is not ('\n' or '\t') && (char.IsControl(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format || c == '\uFFFD')).Select(c => $"U+{(int)c:X4}").Distinct().ToList();
        Assert.True(raw.Count == 0, $"raw characters in the log: {string.Join(", ", raw)}: {string.Join('\n', log.Split('\n').Where(l => l.Any(c => (char.IsControl(c) && c != '\t') || c == '\uFFFD')).Take(3))}");
        Assert.DoesNotContain("lines dropped", log, StringComparison.Ordinal);

        // Every acknowledgement is there, once, and each command was applied: rank 0's journal line and
        // rank 1's own applied line, one each.
        foreach (var id in new[] { "before", "mid", "after" })
        {
            Assert.Single(Regex.Matches(log, $@"command received seq=\d+ id={id} "));
            Assert.Single(Regex.Matches(log, $@"(?m)^\S+ command applied seq=\d+ id={id} "));
            Assert.Single(Regex.Matches(log, $@"(?m)^\S+ \[rank 1\] command applied seq=\d+ id={id} "));
        }

        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal(1e-160, double.Parse(result["tolerance"], CultureInfo.InvariantCulture));

        // The flood was rejected in full count, but shown as a few summaries with counts by reason.
        var end = EndLine().Match(log);
        Assert.True(end.Success, "no end line");
        Assert.Equal("3", end.Groups["applied"].Value);
        var rejected = long.Parse(end.Groups["rejected"].Value, CultureInfo.InvariantCulture);
        Assert.True(rejected > 100_000, $"only {rejected} rejections for {FloodMegabytes} MB");
        var summaries = Regex.Matches(log, @"command rejections-summary seq=\d+ count=(\d+) ");
        Assert.NotEmpty(summaries);
        var shown = Regex.Count(log, @"command rejected seq=");
        Assert.Equal(rejected, shown + summaries.Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)));

        // The page's journal keeps the real commands next to the summaries.
        var status = File.ReadAllText(Path.Combine(service, "status.json"));
        Assert.Contains("more rejected messages, not shown one by one", status, StringComparison.Ordinal);
        Assert.Contains("#after", status, StringComparison.Ordinal);
        ServiceFiles.WaitForFile(Path.Combine(service, "status.html"), TimeSpan.FromSeconds(5));
    }

    [GeneratedRegex(@"end outcome=STOPPED .* commands applied=(?<applied>\d+) rejected=(?<rejected>\d+) ")]
    private static partial Regex EndLine();
}
