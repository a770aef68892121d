using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Convergence.Mpi;
using Convergence.Tests.Checkpoints;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// Scheduled commands and the record of changes in real MPI jobs of the Poisson example, under MPICH and Open MPI
/// at 1 and 3 ranks, steered by a second process appending to notifications.txt: every rank acts after exactly
/// the scheduled iteration (with the adaptive cadence and with a fixed one whose syncs do not fall on it),
/// <c>CANCEL</c> withdraws, bad input is refused in one line, and status.json and result.txt say what was
/// scheduled and how the run was steered, also across a chained link.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed partial class MpiScheduledCommandTests
{
    [Theory]
    [InlineData("mpich", 1, "adaptive")]
    [InlineData("mpich", 3, "every:7")]
    [InlineData("openmpi", 1, "every:7")]
    [InlineData("openmpi", 3, "adaptive")]
    public void ScheduledCommandsFireAfterExactlyTheirIterationOnEveryRank(string mpi, int ranks, string sync)
    {
        var patience = TimeSpan.FromSeconds(ranks == 1 ? 90 : 180);
        var service = Repo.NewTempFolder($"scheduled-{mpi}-{ranks}");
        using var job = RunningProcess.MpiRun(Family(mpi), ranks, PoissonJob.Dll, [
            "--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-30", "--sync", sync,
            "--slow-ms", "5", "--progress-ms", "100", "--poll-ms", "50", "--status-ms", "200"]);
        WaitForProgress(job, patience);

        // One append by a second process: the schedule, a withdrawal, three bad ones, and two changes of settings.
        // 401, 452 and 500 are not multiples of 7: under every:7 no regular sync falls on them.
        Notify.Append(Path.Combine(service, "notifications.txt"), string.Join('\n',
            "CHECKPOINT at=401 #c1", "STOP at=452 #early", "CANCEL #early #x1", "STOP at=500 #s1",
            "STOP at=abc #bad", "STOP at=1 #past", "CANCEL #nope", "RELAXATION 0.8 #r1", "CHANGE_TOLERANCE 1e-31 #t1"));

        // While the run goes on, status.json lists what waits (the page's source).
        var running = StatusJsonWait.Until(service, job, s => Scheduled(s).SequenceEqual(["c1", "s1"]), "#c1 and #s1 scheduled, #early withdrawn", patience);
        Assert.Equal("at iteration 500", running.GetProperty("scheduled")[1].GetProperty("when").GetString());

        Assert.Equal(0, job.WaitForExit(patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("500", result["total_iterations"]);
        Assert.Equal("500", result["iteration"]);

        // Acknowledged when scheduled (rank 0's journal) and when fired, on every rank after the same iteration.
        Assert.Matches(@"command applied seq=\d+ id=s1 iteration=\d+ total=\d+ text=""STOP at=500 #s1"" note=""scheduled #s1: STOP at iteration 500""", job.Stdout);
        Assert.Matches(@"command applied seq=\d+ id=x1 iteration=\d+ total=\d+ text=""CANCEL #early #x1"" note=""withdrew #early: STOP at iteration 452""", job.Stdout);
        Assert.Matches(@"command fired seq=\d+ id=s1 scheduled-seq=\d+ text=""STOP \(scheduled at iteration 500 by seq \d+, fired\)""", job.Stdout);
        AssertAppliedOnEveryRankAt(job, ranks, "c1", 401);
        AssertAppliedOnEveryRankAt(job, ranks, "s1", 500);
        Assert.DoesNotContain(AppliedLine().Matches(job.Stdout), m => m.Groups["id"].Value == "early" && m.Groups["total"].Value == "452");

        // Bad input: one line each, and the run went on.
        Assert.Contains("id=bad reason=\"STOP 'abc' is neither an iteration, an ISO 8601 time (2026-12-03T19:00:00Z) nor a delay (+30m)\"", job.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"id=past reason=""STOP at iteration 1: the run is already at iteration \d+""", job.Stdout);
        Assert.Contains("id=- reason=\"CANCEL: no scheduled command has #id 'nope' (scheduled: #c1, #s1)\"", job.Stdout, StringComparison.Ordinal);

        // How the run was steered: status.json and result.txt, old -> new with iteration and #id.
        using var status = JsonDocument.Parse(File.ReadAllText(Path.Combine(service, "status.json")));
        var root = status.RootElement;
        Assert.Equal(0, root.GetProperty("scheduled").GetArrayLength());
        Assert.Equal(2, root.GetProperty("changeCount").GetInt64());
        var changes = root.GetProperty("changes").EnumerateArray().ToList();
        Assert.Equal(("RELAXATION", "1", "0.8", "r1"), Change(changes[0]));
        Assert.Equal(("tolerance", "1E-30", "1E-31", "t1"), Change(changes[1]));
        var relaxationAt = changes[0].GetProperty("totalIteration").GetInt64();
        Assert.InRange(relaxationAt, 1, 400);
        Assert.Equal("2", result["changes"]);
        Assert.StartsWith($"RELAXATION 1 -> 0.8 at iteration {relaxationAt} (total {relaxationAt}) ", result["change_1"], StringComparison.Ordinal);
        Assert.EndsWith(" #r1", result["change_1"], StringComparison.Ordinal);
        Assert.StartsWith("tolerance 1E-30 -> 1E-31 at iteration ", result["change_2"], StringComparison.Ordinal);
        Assert.Equal("0.8", result["relaxation"]);
    }

    [Theory]
    [InlineData("mpich", 1)]
    [InlineData("mpich", 3)]
    [InlineData("openmpi", 3)]
    public void AScheduledStopAndTheRecordOfChangesSurviveAChainedLink(string mpi, int ranks)
    {
        var patience = TimeSpan.FromSeconds(ranks == 1 ? 90 : 180);
        var service = Repo.NewTempFolder($"scheduled-chain-{mpi}-{ranks}");
        string[] common = ["--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-30", "--slow-ms", "5",
            "--progress-ms", "100", "--poll-ms", "50", "--status-ms", "200", "--chain-max", "3", "--chain-next-job", "4242",
            "--signals", "TERM=stop,USR1=deadline"];
        var notifications = Path.Combine(service, "notifications.txt");
        long target;
        using (var first = RunningProcess.MpiRun(Family(mpi), ranks, PoissonJob.Dll, [.. common, "--chain-link", "1"]))
        {
            var pid = PoissonJob.WaitForPid(first, 0);
            WaitForProgress(first, patience);
            Notify.Append(notifications, "RELAXATION 0.8 #r1");
            first.WaitForOutput("id=r1 iteration=", patience);
            var now = long.Parse(AppliedLine().Matches(first.Stdout).First(m => m.Groups["id"].Value == "r1").Groups["total"].Value, CultureInfo.InvariantCulture);

            // Far enough ahead that this link ends before it (about 2 s at 5 ms an iteration).
            target = now + 400;
            Notify.Append(notifications, FormattableString.Invariant($"STOP at={target} #s1"));
            first.WaitForOutput("note=\"scheduled #s1:", patience);

            // The scheduler's "the allocation ends soon": this link stops with a checkpoint and the chain continues.
            Assert.True(PoissonJob.Signal(pid, "USR1"), "rank 0 had already ended");
            first.WaitForExit(patience);
        }

        var link = Notify.ReadResult(service);
        Assert.Equal("STOPPED", link["outcome"]);
        Assert.Equal("continue", link["chain"]);
        Assert.True(long.Parse(link["total_iterations"], CultureInfo.InvariantCulture) < target, $"the first link reached the scheduled iteration {target}\n{string.Join('\n', link)}");
        Assert.Equal($"STOP at={target} #s1\n", File.ReadAllText(Path.Combine(service, "checkpoints", "schedule.txt")));

        using var next = RunningProcess.MpiRun(Family(mpi), ranks, PoissonJob.Dll, [.. common, "--chain-link", "2", "--resume"]);
        Assert.Equal(0, next.WaitForExit(patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal(target.ToString(CultureInfo.InvariantCulture), result["total_iterations"]);
        Assert.Contains("steering: 1 scheduled command(s) carried over from", next.Stdout, StringComparison.Ordinal);
        AssertAppliedOnEveryRankAt(next, ranks, "s1", target);

        // The record made in the first link is the second's too: the result says how the whole run was steered.
        Assert.Equal("1", result["changes"]);
        Assert.StartsWith("RELAXATION 1 -> 0.8 at iteration ", result["change_1"], StringComparison.Ordinal);
        Assert.Equal(string.Empty, File.ReadAllText(Path.Combine(service, "checkpoints", "schedule.txt")));
    }

    [Theory]
    [InlineData("mpich", 3)]
    [InlineData("openmpi", 1)]
    public void StopAfterCheckpoints_StopsWithTheLastOfThem(string mpi, int ranks)
    {
        var patience = TimeSpan.FromSeconds(ranks == 1 ? 90 : 180);
        var service = Repo.NewTempFolder($"scheduled-checkpoints-{mpi}-{ranks}");
        using var job = RunningProcess.MpiRun(Family(mpi), ranks, PoissonJob.Dll, [
            "--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-30", "--sync", "every:7",
            "--checkpoint-every", "100", "--slow-ms", "5", "--progress-ms", "100", "--poll-ms", "50", "--status-ms", "200"]);
        WaitForProgress(job, patience);
        Notify.Append(Path.Combine(service, "notifications.txt"), "STOP after-checkpoints=2 #n");
        job.WaitForOutput("note=\"scheduled #n: STOP after 2 more checkpoints\"", patience);
        var scheduledAt = long.Parse(AppliedLine().Matches(job.Stdout).First(m => m.Groups["id"].Value == "n").Groups["total"].Value, CultureInfo.InvariantCulture);

        Assert.Equal(0, job.WaitForExit(patience));

        // Checkpoints fall on multiples of 100 (none on a multiple of 7): the first after the schedule is written
        // as usual, the second is the STOP's own, at the same iteration, and there is no third.
        var expected = ((scheduledAt / 100) + 2) * 100;
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal(expected.ToString(CultureInfo.InvariantCulture), result["total_iterations"]);
        AssertAppliedOnEveryRankAt(job, ranks, "n", expected);
        Assert.Contains("text=\"STOP (scheduled after its last checkpoint by seq 1, fired)\"", job.Stdout, StringComparison.Ordinal);
    }

    private static string?[] Scheduled(JsonElement status) =>
        status.GetProperty("scheduled").EnumerateArray().Select(e => e.GetProperty("clientId").GetString()).ToArray();

    private static MpiFamily Family(string mpi) => mpi == "mpich" ? MpiFamily.MpichAbi : MpiFamily.OpenMpi;

    private static (string?, string?, string?, string?) Change(JsonElement e) =>
        (e.GetProperty("setting").GetString(), e.GetProperty("old").GetString(), e.GetProperty("new").GetString(), e.GetProperty("clientId").GetString());

    /// <summary>Every rank logged the command <paramref name="id"/> as applied after total iteration <paramref name="total"/>.</summary>
    private static void AssertAppliedOnEveryRankAt(RunningProcess job, int ranks, string id, long total)
    {
        var ranksAt = AppliedLine().Matches(job.Stdout)
            .Where(m => m.Groups["id"].Value == id && m.Groups["total"].Value == total.ToString(CultureInfo.InvariantCulture))
            .Select(m => m.Groups["rank"].Success ? int.Parse(m.Groups["rank"].Value, CultureInfo.InvariantCulture) : 0)
            .Order().ToArray();
        Assert.True(ranksAt.SequenceEqual(Enumerable.Range(0, ranks)), $"#{id} applied at total {total} on ranks [{string.Join(",", ranksAt)}], expected 0..{ranks - 1}\n{job.Output}");
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
