using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Convergence.Checkpoints;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// Checkpoints, resume and failure at rank counts above 2 (MPICH): what grows with the number of ranks
/// (one part per rank, the confirmation that every part is durable, the resume check) must work at any
/// count. The 16-rank STOP is the shape that once failed from 7 ranks on (a reduction capped at 64 doubles).
/// </summary>
/// <remarks>
/// These runs oversubscribe two cores, where MPICH busy-polls: tiny grids, few iterations, generous
/// patience (a hang fails, slowness does not).
/// </remarks>
[Collection(MpiCollection.Name)]
public sealed partial class RankCountCheckpointTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    [Fact]
    public void SixteenRanks_StopWritesACompleteCheckpointOfSixteenPartsAndEndsCleanly()
    {
        const int Ranks = 16;
        var service = Repo.NewTempFolder("np16-stop");
        using var job = Start(Ranks, service, "--tolerance", "1e-12", "--progress-ms", "100", "--poll-ms", "50");
        job.WaitForOutput("progress iteration=", Patience);
        Notify.Append(Path.Combine(service, "notifications.txt"), "STOP #s16");

        ExpectExit(job, 0);
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("16", result["ranks"]);
        var manifest = AssertOnlyCompleteCheckpoint(service, "stop", Ranks);
        Assert.Equal(result["total_iterations"], manifest.TotalIterations.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(result["iteration"], AppliedIteration(job, 1, Ranks));
        Assert.Equal(Ranks, EndLine().Matches(job.Stdout).Count(m => m.Groups[1].Value == "STOPPED" && m.Groups[2].Value == result["iteration"]));
    }

    [Fact]
    public void EightRanks_ResumeFromACheckpointEndsExactlyAsTheUninterruptedRun()
    {
        const int Ranks = 8;
        var referenceService = Repo.NewTempFolder("np8-ref");
        var referenceField = Path.Combine(referenceService, "field");
        using (var reference = Start(Ranks, referenceService, "--tolerance", "1e-12", "--max-iterations", "60", "--output", referenceField))
        {
            ExpectExit(reference, 4);
        }

        var service = Repo.NewTempFolder("np8-resume");
        using (var first = Start(Ranks, service, "--tolerance", "1e-12", "--max-iterations", "45", "--checkpoint-every", "20"))
        {
            ExpectExit(first, 4);
        }

        AssertOnlyCompleteCheckpoint(service, "periodic", Ranks, expectedCount: 2);
        var field = Path.Combine(service, "field");
        using var resumed = Start(Ranks, service, "--tolerance", "1e-12", "--max-iterations", "60", "--resume", "--output", field);
        ExpectExit(resumed, 4);
        Assert.Contains("resumed from ckpt-00000002 at iteration 40 (total 40)", resumed.Stdout, StringComparison.Ordinal);

        var expected = Notify.ReadResult(referenceService);
        var actual = Notify.ReadResult(service);
        Assert.Equal("60", actual["total_iterations"]);
        Assert.Equal(expected["residual"], actual["residual"]);
        for (var rank = 0; rank < Ranks; rank++)
        {
            var piece = $"poisson_{rank}.vti";
            Assert.Equal(File.ReadAllBytes(Path.Combine(referenceField, piece)), File.ReadAllBytes(Path.Combine(field, piece)));
        }
    }

    [Fact]
    public void FourRanks_KilledWhileCheckpointing_TheResumedRunFindsACompleteCheckpointAndEndsAsTheUninterruptedRun()
    {
        const int Ranks = 4;
        const int Limit = 150;
        var seed = Environment.TickCount;
        output.WriteLine($"random seed {seed}");
        var random = new Random(seed);

        var referenceService = Repo.NewTempFolder("np4-kill-ref");
        using (var reference = Start(Ranks, referenceService, "--tolerance", "1e-12", "--max-iterations", $"{Limit}"))
        {
            ExpectExit(reference, 4);
        }

        // A checkpoint after every iteration keeps most moments inside a write (four parts, each synced,
        // then the manifest): kill with SIGKILL until one kill has left an incomplete checkpoint behind.
        var service = Repo.NewTempFolder("np4-kill");
        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        string[] chain = ["--tolerance", "1e-12", "--max-iterations", $"{Limit}", "--checkpoint-every", "1", "--checkpoint-keep", "2"];
        var killedMidWrite = false;
        for (var kill = 0; kill < 8 && !killedMidWrite; kill++)
        {
            using var job = Start(Ranks, service, kill == 0 ? chain : [.. chain, "--resume"]);
            job.WaitForOutput("complete (periodic)", Patience);
            Thread.Sleep(random.Next(0, 250));
            Assert.False(job.HasExited, $"the run ended before kill {kill}:\n{job.Output}");
            job.Kill();

            var incomplete = store.ListIds().Where(id => !store.HasManifest(id)).ToList();
            killedMidWrite = incomplete.Count > 0;
            output.WriteLine($"kill {kill}: folders {string.Join(",", store.ListIds())}, incomplete {string.Join(",", incomplete)}");
        }

        Assert.True(killedMidWrite, "no kill landed inside a checkpoint write");
        var newestComplete = store.ListIds().First(store.HasManifest);
        using (var resumed = Start(Ranks, service, "--tolerance", "1e-12", "--max-iterations", $"{Limit}", "--resume"))
        {
            ExpectExit(resumed, 4);
            Assert.Contains($"resumed from {CheckpointStore.NameOf(newestComplete)} at iteration", resumed.Stdout, StringComparison.Ordinal);
        }

        var expected = Notify.ReadResult(referenceService);
        var actual = Notify.ReadResult(service);
        Assert.Equal($"{Limit}", actual["total_iterations"]);
        Assert.Equal(expected["residual"], actual["residual"]);
    }

    [Fact]
    public void EightRanks_AFailingRankBringsTheWholeJobDownWithFailed()
    {
        var service = Repo.NewTempFolder("np8-fail");
        var watch = Stopwatch.StartNew();
        using var job = Start(8, service, "--tolerance", "1e-12", "--fail-at-iteration", "10", "--fail-rank", "5");

        // A hang (seven ranks waiting for ever on the dead one) hits the patience; an abort ends in seconds.
        var exit = job.WaitForExit(Patience);
        output.WriteLine($"job ended {watch.Elapsed.TotalSeconds:0.0} s after the start (start-up of 8 processes included), exit code {exit}");
        Assert.Equal(1, exit);
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("5", result["failed_rank"]);
        Assert.Contains("injected failure at iteration 10 on rank 5", result["message"], StringComparison.Ordinal);
        Assert.Contains("rank 5 failed", job.Stderr, StringComparison.Ordinal);
    }

    private static RunningProcess Start(int ranks, string service, params string[] args) =>
        RunningProcess.MpiRun(ranks, PoissonJob.Dll, ["--service", service, .. PoissonJob.Small, .. args]);

    private static void ExpectExit(RunningProcess job, int expected)
    {
        var code = job.WaitForExit(Patience);
        Assert.True(code == expected, $"exit code {code}, expected {expected}\n{job.Output}");
    }

    /// <summary>Every checkpoint in the folder is complete (manifest, one verified part per rank); returns the newest.</summary>
    private static CheckpointManifest AssertOnlyCompleteCheckpoint(string service, string reason, int ranks, int expectedCount = 1)
    {
        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        var ids = store.ListIds();
        Assert.Equal(expectedCount, ids.Count);
        foreach (var id in ids)
        {
            var manifest = store.ReadManifest(id);
            Assert.Equal(reason, manifest.Reason);
            Assert.Equal(ranks, manifest.Ranks);
            Assert.Equal(Enumerable.Range(0, ranks), manifest.Parts.Select(p => p.Rank));
            Assert.All(manifest.Parts, p => Assert.Null(store.VerifyPart(id, p)));
        }

        return store.ReadManifest(ids[0]);
    }

    /// <summary>The iteration at which every one of <paramref name="ranks"/> ranks logged applying command <paramref name="sequence"/>.</summary>
    private static string AppliedIteration(RunningProcess job, long sequence, int ranks)
    {
        var lines = AppliedLine().Matches(job.Stdout).Where(m => m.Groups["seq"].Value == sequence.ToString(CultureInfo.InvariantCulture)).ToList();
        var fromRanks = lines.Select(m => m.Groups["rank"].Success ? int.Parse(m.Groups["rank"].Value, CultureInfo.InvariantCulture) : 0).Order();
        Assert.True(fromRanks.SequenceEqual(Enumerable.Range(0, ranks)), $"applied lines from ranks [{string.Join(",", fromRanks)}]\n{job.Output}");
        return Assert.Single(lines.Select(m => m.Groups["it"].Value).Distinct());
    }

    [GeneratedRegex(@"Z (?:\[rank (?<rank>\d+)\] )?command applied seq=(?<seq>\d+) id=\S+ iteration=(?<it>\d+) total=\d+")]
    private static partial Regex AppliedLine();

    [GeneratedRegex(@" end outcome=(\w+) iteration=(\d+) total=(\d+)")]
    private static partial Regex EndLine();
}
