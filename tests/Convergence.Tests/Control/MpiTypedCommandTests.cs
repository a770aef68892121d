using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// A command with a declared range (the Poisson example's <c>RELAXATION</c>, Jacobi weight in (0, 1]) under both
/// MPIs at 2 and 3 ranks: rank 0 refuses a value outside the range with the range in the reason (log, journal),
/// and every rank applies a valid one at the same iteration.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed partial class MpiTypedCommandTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Theory]
    [InlineData("mpich", 2)]
    [InlineData("mpich", 3)]
    [InlineData("openmpi", 2)]
    [InlineData("openmpi", 3)]
    public void AnOutOfRangeRelaxationIsRejectedWithTheRangeAndAValidOneIsAppliedOnEveryRankAtOneIteration(string mpi, int ranks)
    {
        // Oversubscribed above two ranks: a smaller grid and more patience (a hang still fails).
        var patience = TimeSpan.FromSeconds(ranks <= 2 ? 60 : 180);
        var family = mpi == "mpich" ? MpiFamily.MpichAbi : MpiFamily.OpenMpi;
        var service = Repo.NewTempFolder($"typed-{mpi}-{ranks}");
        using var job = RunningProcess.MpiRun(family, ranks, Poisson, [
            "--service", service, "--n", ranks <= 2 ? "48" : "16", "--method", "jacobi", "--tolerance", "1e-12",
            "--slow-ms", "2", "--progress-ms", "100", "--poll-ms", "50"]);
        WaitForProgress(job, patience);
        var notifications = Path.Combine(service, "notifications.txt");
        Notify.Append(notifications, "RELAXATION 1.5 #high");
        Notify.Append(notifications, "RELAXATION 0 #zero");
        Notify.Append(notifications, "RELAXATION 0.8 #ok");
        Notify.Append(notifications, "STOP #end");

        Assert.Equal(0, job.WaitForExit(patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("0.8", result["relaxation"]);
        Assert.Contains("command rejected seq=1 id=high reason=\"RELAXATION: 1.5 is out of range (0, 1]\"", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("command rejected seq=2 id=zero reason=\"RELAXATION: 0 is out of range (0, 1]\"", job.Stdout, StringComparison.Ordinal);

        // The journal (status.json, the page's source) keeps the same reason.
        using var status = JsonDocument.Parse(File.ReadAllText(Path.Combine(service, "status.json")));
        var journal = status.RootElement.GetProperty("journal").EnumerateArray().ToList();
        Assert.Equal("RELAXATION: 1.5 is out of range (0, 1]", journal.Single(e => e.GetProperty("clientId").GetString() == "high").GetProperty("reason").GetString());

        // One applied line per rank for #ok, all at the same iteration, and none for the refused ones.
        var applied = AppliedLine().Matches(job.Stdout).Where(m => m.Groups["id"].Value == "ok").ToList();
        Assert.True(
            applied.Select(m => m.Groups["rank"].Success ? int.Parse(m.Groups["rank"].Value, CultureInfo.InvariantCulture) : 0).Order().SequenceEqual(Enumerable.Range(0, ranks)),
            $"RELAXATION 0.8 applied on ranks [{string.Join(",", applied.Select(m => m.Groups["rank"].Value))}], expected 0..{ranks - 1}\n{job.Output}");
        Assert.Single(applied.Select(m => (m.Groups["it"].Value, m.Groups["total"].Value)).Distinct());
        Assert.DoesNotContain(AppliedLine().Matches(job.Stdout), m => m.Groups["id"].Value is "high" or "zero");
    }

    private static void WaitForProgress(RunningProcess job, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (!ProgressLine().IsMatch(job.Stdout))
        {
            Assert.False(job.HasExited, $"the job ended before its first progress line\n{job.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"no progress line in {patience.TotalSeconds:0} s\n{job.Output}");
            Thread.Sleep(20);
        }
    }

    [GeneratedRegex(@"progress iteration=[1-9]\d* ")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@"Z (?:\[rank (?<rank>\d+)\] )?command applied seq=\d+ id=(?<id>\S+) iteration=(?<it>\d+) total=(?<total>\d+)")]
    private static partial Regex AppliedLine();
}
