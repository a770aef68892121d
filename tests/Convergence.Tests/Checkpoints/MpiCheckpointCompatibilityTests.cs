using System.Globalization;
using System.Security.Cryptography;
using Convergence.Checkpoints;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// The Poisson example under mpirun with a checkpoint folder that holds another job's checkpoints (another
/// grid), a part that passes every check but that the solver rejects on one rank, and SIGKILL at the two
/// moments of a checkpoint that the random-kill test rarely hits: the manifest write and the pruning.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class MpiCheckpointCompatibilityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void RestartCheckpoint_WithOnlyACheckpointOfAnotherGrid_IsDeclinedOnThePageAndInTheLogAndTheJobGoesOn(int ranks)
    {
        var service = Repo.NewTempFolder($"foreign-restart-{ranks}");
        WriteCheckpointsOfGrid16(service, ranks);

        using var job = Start(ranks, service, "24", "--tolerance", "1e-14", "--slow-ms", "2", "--poll-ms", "20");
        job.WaitForOutput("progress iteration=", Patience);
        Notify.Append(Path.Combine(service, "notifications.txt"), "RESTART checkpoint");
        job.WaitForOutput("command rejected", Patience);
        Notify.Append(Path.Combine(service, "notifications.txt"), "STOP");

        ExpectExit(job, 0);
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("0", result["restarts"]);
        var rejected = Assert.Single(job.Stdout.Split('\n'), l => l.Contains("command rejected", StringComparison.Ordinal));
        output.WriteLine(rejected);
        Assert.Contains("fits this job", rejected, StringComparison.Ordinal);
        Assert.Contains("was written for 'poisson-2d grid=16x16 part=PSN2', this job is 'poisson-2d grid=24x24 part=PSN2'", rejected, StringComparison.Ordinal);
        Assert.DoesNotContain("could not read", job.Stdout, StringComparison.Ordinal);
        var page = File.ReadAllText(Path.Combine(service, "status.html"));
        Assert.Contains("poisson-2d grid=16x16 part=PSN2", page, StringComparison.Ordinal);
        Assert.Contains("fits this job", page, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MpiFamily.MpichAbi, 2)]
    [InlineData(MpiFamily.MpichAbi, 3)]
    [InlineData(MpiFamily.OpenMpi, 2)]
    [InlineData(MpiFamily.OpenMpi, 3)]
    public void Resume_WithOnlyCheckpointsOfAnotherGrid_IsRefusedWithExitCodeTwoAndOneLineAndLeavesThePreviousResult(MpiFamily mpi, int ranks)
    {
        var service = Repo.NewTempFolder($"foreign-resume-{mpi}-{ranks}");
        WriteCheckpointsOfGrid16(service, ranks, mpi);
        var result = File.ReadAllBytes(Path.Combine(service, "result.txt"));
        var statusJson = File.ReadAllBytes(Path.Combine(service, "status.json"));
        var statusPage = File.ReadAllBytes(Path.Combine(service, "status.html"));

        using var job = Start(mpi, ranks, service, "24", null, "--resume");

        ExpectExit(job, 2);
        var error = OneErrorLine(mpi, job);
        output.WriteLine(error);
        Assert.Contains("--resume: no checkpoint in ", error, StringComparison.Ordinal);
        Assert.Contains("fits this job (2 written for another)", error, StringComparison.Ordinal);
        Assert.Contains("this job is 'poisson-2d grid=24x24 part=PSN2': start it with the options that wrote the checkpoint, or use another --checkpoint-dir", error, StringComparison.Ordinal);

        // A usage error: nothing ran, so the previous run's result and page stay as they were, no rank
        // handed a failure to rank 0, and each skipped checkpoint is named once, by rank 0.
        Assert.Equal(result, File.ReadAllBytes(Path.Combine(service, "result.txt")));
        Assert.Equal(statusJson, File.ReadAllBytes(Path.Combine(service, "status.json")));
        Assert.Equal(statusPage, File.ReadAllBytes(Path.Combine(service, "status.html")));
        Assert.False(Directory.Exists(Path.Combine(service, ".convergence-failures")), "a hand-over folder was left behind");
        Assert.DoesNotContain("did not record", job.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("progress iteration=", job.Stdout, StringComparison.Ordinal);
        var skipped = job.Stdout.Split('\n').Where(l => l.Contains("does not fit", StringComparison.Ordinal)).ToList();
        output.WriteLine(string.Join("\n", skipped));
        Assert.Equal(2, skipped.Count);
        Assert.All(skipped, l => Assert.DoesNotContain("[rank ", l, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(MpiFamily.MpichAbi, 2)]
    [InlineData(MpiFamily.MpichAbi, 3)]
    [InlineData(MpiFamily.OpenMpi, 3)]
    public void Resume_RefusedOnlyWhileLoading_IsRecordedOnceByRankZeroAndNoOtherRankOverwritesIt(MpiFamily mpi, int ranks)
    {
        // Two checkpoints of grid 16, then one of grid 24 whose last rank's part is damaged: the only
        // checkpoint that fits fails its check while loading (after rank 0 has started its services), so
        // the refusal comes from every rank at once at that point.
        var service = Repo.NewTempFolder($"late-refusal-{mpi}-{ranks}");
        WriteCheckpointsOfGrid16(service, ranks, mpi);
        using (var third = Start(mpi, ranks, service, "24", null, "--tolerance", "1e-14", "--checkpoint-every", "20", "--max-iterations", "25"))
        {
            ExpectExit(third, 4);
        }

        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        Assert.Equal(3, store.ListIds()[0]);
        var part = Path.Combine(store.FolderOf(3), CheckpointStore.PartName(ranks - 1));
        var bytes = File.ReadAllBytes(part);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(part, bytes);

        using var job = Start(mpi, ranks, service, "24", null, "--resume");

        ExpectExit(job, 2);
        var error = OneErrorLine(mpi, job);
        Assert.Contains("--resume: no checkpoint in ", error, StringComparison.Ordinal);
        var fields = Notify.ReadResult(service);
        Assert.Equal("FAILED", fields["outcome"]);
        Assert.Equal("2", fields["exit_code"]);
        Assert.Equal("0", fields["failed_rank"]);
        Assert.DoesNotContain("did not record", job.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(service, ".convergence-failures")), "a hand-over folder was left behind");
    }

    [Fact]
    public void APartThatPassesItsChecksButThatTheSolverRejectsOnOneRank_FailsTheWholeJobPromptly()
    {
        const int Ranks = 3;
        var service = Repo.NewTempFolder("reject-part");
        WriteCheckpointsOfGrid16(service, Ranks);

        // Rank 2's part claims another grid in its header (the free-form bytes behind the declared field); the
        // manifest is rewritten to match, so only the solver's own reader can notice, on that rank alone.
        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        var id = store.ListIds()[0];
        var manifest = store.ReadManifest(id);
        var path = Path.Combine(store.FolderOf(id), CheckpointStore.PartName(2));
        var bytes = File.ReadAllBytes(path);
        bytes[manifest.Layout!.FreeFormStart(2) + 4] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        var parts = manifest.Parts.Select(p => p.Rank == 2 ? p with { Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)) } : p).ToList();
        store.WriteManifest(manifest with { Parts = parts });

        using var job = Start(Ranks, service, "16", "--resume");

        ExpectExit(job, 1);
        Assert.Contains("[rank 2] checkpoint ckpt-", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("the solver could not read this rank's part: InvalidDataException", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("could not read it on rank(s) 2", job.Output, StringComparison.Ordinal);
        Assert.Equal("FAILED", Notify.ReadResult(service)["outcome"]);
    }

    [Theory]
    [InlineData("manifest:3", "ckpt-00000002", 40)]
    [InlineData("prune:3", "ckpt-00000003", 60)]
    public void SigkillDuringTheManifestWriteOrThePruning_ResumeStillFindsACompleteCheckpoint(string stall, string expected, long iteration)
    {
        var service = Repo.NewTempFolder($"stall-{stall.Replace(':', '-')}");
        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        using (var job = Start(2, service, "16", new Dictionary<string, string?> { [CheckpointStore.StallVariable] = stall }, "--tolerance", "1e-14", "--checkpoint-every", "20", "--checkpoint-keep", "1"))
        {
            job.WaitForOutput("checkpoint test stall:", Patience);
            job.Kill();
            Assert.True(job.HasExited);
        }

        var folders = store.ListIds().ToDictionary(id => id, id => Directory.GetFiles(store.FolderOf(id)).Select(Path.GetFileName).Order().ToList());
        output.WriteLine(string.Join("; ", folders.Select(f => $"{CheckpointStore.NameOf(f.Key)}: {string.Join(",", f.Value)}")));
        if (stall.StartsWith("manifest", StringComparison.Ordinal))
        {
            // Killed with half a manifest in its temporary file: ckpt-3 has its parts but is not complete.
            Assert.False(store.HasManifest(3));
            Assert.Contains(folders[3], f => f!.StartsWith(".manifest.txt.", StringComparison.Ordinal));
            Assert.True(store.HasManifest(2));
        }
        else
        {
            // Killed between removing ckpt-2's manifest and its last part: a folder that must never look complete.
            Assert.True(store.HasManifest(3));
            Assert.False(store.HasManifest(2));
            Assert.Single(folders[2]);
        }

        using var resumed = Start(2, service, "16", "--tolerance", "1e-14", "--resume", "--max-iterations", (iteration + 5).ToString(CultureInfo.InvariantCulture));
        ExpectExit(resumed, 4);
        Assert.Contains(FormattableString.Invariant($"resumed from {expected} at iteration {iteration} (total {iteration})"), resumed.Stdout, StringComparison.Ordinal);
        Assert.Equal((iteration + 5).ToString(CultureInfo.InvariantCulture), Notify.ReadResult(service)["total_iterations"]);
    }

    private static void WriteCheckpointsOfGrid16(string service, int ranks, MpiFamily mpi = MpiFamily.MpichAbi)
    {
        using var first = Start(mpi, ranks, service, "16", null, "--tolerance", "1e-14", "--checkpoint-every", "20", "--max-iterations", "45");
        ExpectExit(first, 4);
    }

    private static RunningProcess Start(int ranks, string service, string n, params string[] args) => Start(ranks, service, n, null, args);

    private static RunningProcess Start(int ranks, string service, string n, IDictionary<string, string?>? environment, params string[] args) =>
        Start(MpiFamily.MpichAbi, ranks, service, n, environment, args);

    private static RunningProcess Start(MpiFamily mpi, int ranks, string service, string n, IDictionary<string, string?>? environment, params string[] args) =>
        RunningProcess.MpiRun(mpi, ranks, PoissonJob.Dll, ["--service", service, "--n", n, "--method", "jacobi", "--status-ms", "200", "--progress-ms", "200", .. args], environment);

    /// <summary>
    /// The job's one error line. Under MPICH stderr holds nothing else; Open MPI's mpirun adds its own notice
    /// of a rank that exited non-zero, which is left aside.
    /// </summary>
    private static string OneErrorLine(MpiFamily mpi, RunningProcess job)
    {
        var lines = job.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return mpi == MpiFamily.OpenMpi
            ? Assert.Single(lines, l => l.StartsWith("convergence", StringComparison.Ordinal))
            : Assert.Single(lines);
    }

    private static void ExpectExit(RunningProcess job, int expected)
    {
        var code = job.WaitForExit(Patience);
        Assert.True(code == expected, $"exit code {code}, expected {expected}\n{job.Output}");
    }
}
