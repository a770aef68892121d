using System.Globalization;
using System.Text.RegularExpressions;
using Convergence.Checkpoints;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// Checkpoints, signals and deadlines on the real 2-rank Poisson example under mpirun: crashes at random
/// moments, damaged parts, SIGTERM to one rank or to both at different times, and a near deadline.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed partial class MpiCheckpointTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public void KilledAtRandomMomentsWhileCheckpointing_ResumeAlwaysFindsACompleteCheckpointAndEndsWithTheSameField()
    {
        const int Kills = 12;
        var seed = Environment.TickCount;
        output.WriteLine($"random seed {seed}");
        var random = new Random(seed);

        var referenceService = Repo.NewTempFolder("kill-ref");
        var referenceField = Path.Combine(referenceService, "field");
        using (var reference = PoissonJob.Start(referenceService, "--tolerance", "1e-9", "--output", referenceField))
        {
            ExpectExit(reference, 0);
        }

        var expected = Notify.ReadResult(referenceService);
        Assert.Equal("CONVERGED", expected["outcome"]);

        var service = Repo.NewTempFolder("kill-chain");
        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        var killedMidWrite = 0;
        long lastResumed = -1;
        string[] chain = ["--tolerance", "1e-9", "--slow-ms", "1", "--checkpoint-every", "1", "--checkpoint-keep", "2"];
        for (var kill = 0; kill < Kills; kill++)
        {
            using var job = PoissonJob.Start(service, kill == 0 ? chain : [.. chain, "--resume"]);
            if (kill > 0)
            {
                job.WaitForOutput("resumed from ckpt-", Patience);
                var resumedAt = long.Parse(ResumedLine().Match(job.Stdout).Groups[2].Value, CultureInfo.InvariantCulture);
                Assert.True(resumedAt >= lastResumed, $"resumed at total {resumedAt}, earlier run resumed at {lastResumed}\n{job.Output}");
                lastResumed = resumedAt;
            }

            // Let at least one checkpoint of this run complete, then kill at a random moment: with a
            // checkpoint after every iteration of 1 ms, most moments fall inside a checkpoint write.
            job.WaitForOutput("complete (periodic)", Patience);
            Thread.Sleep(random.Next(0, 250));
            Assert.False(job.HasExited, $"the run ended before kill {kill}:\n{job.Output}");
            job.Kill();

            var incomplete = store.ListIds().Where(id => !store.HasManifest(id)).ToList();
            if (incomplete.Count > 0)
            {
                killedMidWrite++;
            }

            output.WriteLine($"kill {kill}: folders {string.Join(",", store.ListIds())}, incomplete {string.Join(",", incomplete)}");
        }

        var finalField = Path.Combine(service, "field");
        using (var final = PoissonJob.Start(service, "--tolerance", "1e-9", "--resume", "--output", finalField))
        {
            ExpectExit(final, 0);
            Assert.Contains("resumed from ckpt-", final.Stdout, StringComparison.Ordinal);
        }

        var actual = Notify.ReadResult(service);
        output.WriteLine($"{killedMidWrite} of {Kills} kills left an incomplete checkpoint behind");
        Assert.True(killedMidWrite > 0, "no kill landed inside a checkpoint write");
        Assert.Equal("CONVERGED", actual["outcome"]);
        Assert.Equal(expected["total_iterations"], actual["total_iterations"]);
        Assert.Equal(expected["residual"], actual["residual"]);
        foreach (var piece in new[] { "poisson_0.vti", "poisson_1.vti" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(referenceField, piece)), File.ReadAllBytes(Path.Combine(finalField, piece)));
        }
    }

    [Fact]
    public void TruncatedOrAlteredParts_AreRefusedAndAnOlderCompleteCheckpointIsUsed()
    {
        var service = Repo.NewTempFolder("ckpt-damage");
        using (var job = PoissonJob.Start(service, "--tolerance", "1e-12", "--checkpoint-every", "20", "--max-iterations", "65"))
        {
            ExpectExit(job, 4);
        }

        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        Assert.Equal([3L, 2L, 1L], store.ListIds());
        var truncated = Path.Combine(store.FolderOf(3), CheckpointStore.PartName(1));
        File.WriteAllBytes(truncated, File.ReadAllBytes(truncated)[..^8]);
        var altered = Path.Combine(store.FolderOf(2), CheckpointStore.PartName(0));
        var bytes = File.ReadAllBytes(altered);
        bytes[bytes.Length / 2] ^= 0x08;
        File.WriteAllBytes(altered, bytes);

        using var resumed = PoissonJob.Start(service, "--tolerance", "1e-12", "--resume", "--max-iterations", "45");
        ExpectExit(resumed, 4);

        var log = resumed.Stdout;
        Assert.Contains("[rank 1] checkpoint ckpt-00000003: this rank's part is not usable: rank-00001.part has", log, StringComparison.Ordinal);
        Assert.Contains("checkpoint ckpt-00000003 skipped: part(s) of rank(s) 1 missing, truncated or altered", log, StringComparison.Ordinal);
        Assert.Contains("checkpoint ckpt-00000002: this rank's part is not usable: rank-00000.part does not match its SHA-256", log, StringComparison.Ordinal);
        Assert.Contains("checkpoint ckpt-00000002 skipped: part(s) of rank(s) 0", log, StringComparison.Ordinal);
        Assert.Contains("resumed from ckpt-00000001 at iteration 20 (total 20)", log, StringComparison.Ordinal);
        Assert.Equal("45", Notify.ReadResult(service)["total_iterations"]);

        // The same folder on one rank: the Poisson example declares its field, so the single rank reads both
        // halves of the only intact checkpoint (and skips the damaged ones as the two ranks did).
        using var single = RunningProcess.Dotnet(PoissonJob.Dll, ["--single-process", "--service", service, .. PoissonJob.Small, "--resume", "--max-iterations", "30"]);
        ExpectExit(single, 4);
        Assert.Contains("checkpoint ckpt-00000003 skipped: part(s) of rank(s) 0 missing, truncated or altered", single.Stdout, StringComparison.Ordinal);
        Assert.Contains("resumed from ckpt-00000001 at iteration 20 (total 20)", single.Stdout, StringComparison.Ordinal);
        Assert.Equal("1", Notify.ReadResult(service)["ranks"]);
    }

    [Fact]
    public void SigtermToOneRankOnly_WritesOneCheckpointAndStopsCleanlyWithExitCodeZero()
    {
        var service = Repo.NewTempFolder("sigterm-one");
        using var job = PoissonJob.Start(service, "--tolerance", "1e-14", "--slow-ms", "5");
        var pid = PoissonJob.WaitForPid(job, 1);
        job.WaitForOutput("progress iteration=", Patience);

        Assert.True(PoissonJob.Signal(pid, "TERM"));

        ExpectExit(job, 0);
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Contains("stop signal on 1 of 2 rank(s)", result["message"], StringComparison.Ordinal);
        Assert.Contains("[rank 1] ", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("signal SIGTERM received", job.Stdout, StringComparison.Ordinal);
        AssertExactlyOneCheckpoint(service, "signal stop", result);
    }

    [Fact]
    public void SigtermToBothRanksAtDifferentTimes_WritesOneCheckpointAndStopsCleanly()
    {
        var service = Repo.NewTempFolder("sigterm-both");

        // Syncs 100 iterations (about 0.5 s) apart: the two signals arrive 60 ms, about 12 iterations, apart,
        // mostly between the same two syncs, so both ranks' votes meet in one reduction.
        using var job = PoissonJob.Start(service, "--tolerance", "1e-14", "--slow-ms", "5", "--sync", "every:100");
        var pid0 = PoissonJob.WaitForPid(job, 0);
        var pid1 = PoissonJob.WaitForPid(job, 1);
        job.WaitForOutput("progress iteration=", Patience);

        Assert.True(PoissonJob.Signal(pid1, "TERM"));
        Thread.Sleep(60); // the gap between the two signals is the point of the test, not a wait for a condition
        var second = PoissonJob.Signal(pid0, "TERM");

        ExpectExit(job, 0);
        output.WriteLine($"second signal {(second ? "delivered" : "too late: rank 0 had already ended")}");
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Matches(@"stop signal on [12] of 2 rank\(s\)", result["message"]);
        AssertExactlyOneCheckpoint(service, "signal stop", result);
    }

    [Fact]
    public void SigtermToMpirunAndToARankAsSlurmSendsIt_IsOneRequestAndStopsCleanly()
    {
        var service = Repo.NewTempFolder("sigterm-mpirun");
        using var job = PoissonJob.Start(service, "--tolerance", "1e-14", "--slow-ms", "5");
        var pid1 = PoissonJob.WaitForPid(job, 1);
        job.WaitForOutput("progress iteration=", Patience);

        // Slurm signals every process of the step: mpirun (which forwards SIGTERM to every rank) and the
        // ranks themselves, so rank 1 gets SIGTERM twice within milliseconds.
        Assert.True(PoissonJob.Signal(job.Id, "TERM"));
        PoissonJob.Signal(pid1, "TERM");

        ExpectExit(job, 0);
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Matches(@"stop signal on [12] of 2 rank\(s\)", result["message"]);
        AssertExactlyOneCheckpoint(service, "signal stop", result);
    }

    [Fact]
    public void Sigusr1CheckpointsThenRestartCheckpointRollsBothRanksBackAndStopWritesAnother()
    {
        var service = Repo.NewTempFolder("sigusr1");
        using var job = PoissonJob.Start(service, "--tolerance", "1e-14", "--slow-ms", "3", "--poll-ms", "20");
        var pid = PoissonJob.WaitForPid(job, 1);
        job.WaitForOutput("progress iteration=", Patience);

        Assert.True(PoissonJob.Signal(pid, "USR1"));
        job.WaitForOutput("checkpoint ckpt-00000001 complete (signal)", Patience);
        Notify.Append(Path.Combine(service, "notifications.txt"), "RESTART checkpoint");
        job.WaitForOutput("rolled back to ckpt-00000001", Patience);
        Notify.Append(Path.Combine(service, "notifications.txt"), "STOP");

        ExpectExit(job, 0);
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("1", result["restarts"]);
        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        Assert.Equal([2L, 1L], store.ListIds());
        Assert.Equal("stop", store.ReadManifest(2).Reason);
        Assert.Equal(store.FolderOf(2), result["checkpoint"]);
        var page = File.ReadAllText(Path.Combine(service, "status.html"));
        Assert.Contains("Last checkpoint: ckpt-00000002 at iteration", page, StringComparison.Ordinal);
        Assert.Contains($"To resume: start the job again with --resume --checkpoint-dir {store.Root} on any number of ranks", page, StringComparison.Ordinal);
    }

    [Fact]
    public void ADeadlineAFewSecondsAhead_StopsTheJobWithACheckpointBeforeIt()
    {
        var service = Repo.NewTempFolder("deadline");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        using var job = PoissonJob.Start(
            service, "--tolerance", "1e-14", "--slow-ms", "5", "--deadline-margin", "1s",
            "--deadline", deadline.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));

        ExpectExit(job, 0);
        var exitedAt = DateTimeOffset.UtcNow;
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Contains("wall-time deadline", result["message"], StringComparison.Ordinal);
        var manifest = AssertExactlyOneCheckpoint(service, "deadline", result);
        var finished = DateTimeOffset.Parse(result["finished_at"], CultureInfo.InvariantCulture);
        output.WriteLine($"checkpoint {(deadline - manifest.CreatedAt).TotalSeconds:0.###} s, result {(deadline - finished).TotalSeconds:0.###} s, exit {(deadline - exitedAt).TotalSeconds:0.###} s before the deadline");
        Assert.True(manifest.CreatedAt < deadline && finished < deadline, $"finished {finished:O}, deadline {deadline:O}");
        Assert.True(finished > deadline.AddSeconds(-5), $"stopped far too early: {finished:O} for a deadline at {deadline:O}");
    }

    private static void ExpectExit(RunningProcess job, int expected)
    {
        var code = job.WaitForExit(Patience);
        Assert.True(code == expected, $"exit code {code}, expected {expected}\n{job.Output}");
    }

    private static CheckpointManifest AssertExactlyOneCheckpoint(string service, string reason, IReadOnlyDictionary<string, string> result)
    {
        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        var id = Assert.Single(store.ListIds());
        var manifest = store.ReadManifest(id);
        Assert.Equal(reason, manifest.Reason);
        Assert.Equal(result["total_iterations"], manifest.TotalIterations.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(store.FolderOf(id), result["checkpoint"]);
        Assert.All(manifest.Parts, p => Assert.Null(store.VerifyPart(id, p)));
        return manifest;
    }

    [GeneratedRegex(@"resumed from ckpt-(\d+) at iteration \d+ \(total (\d+)\)")]
    private static partial Regex ResumedLine();
}
