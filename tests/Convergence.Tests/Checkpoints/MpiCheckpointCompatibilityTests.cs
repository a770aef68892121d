using System.Globalization;
using System.Security.Cryptography;
using Convergence.Checkpoints;
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
        Assert.Contains("was written for 'poisson-2d grid=16x16 part=PSN1', this job is 'poisson-2d grid=24x24 part=PSN1'", rejected, StringComparison.Ordinal);
        Assert.DoesNotContain("could not read", job.Stdout, StringComparison.Ordinal);
        var page = File.ReadAllText(Path.Combine(service, "status.html"));
        Assert.Contains("poisson-2d grid=16x16 part=PSN1", page, StringComparison.Ordinal);
        Assert.Contains("fits this job", page, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Resume_WithOnlyCheckpointsOfAnotherGrid_IsRefusedWithExitCodeTwoAndOneLine(int ranks)
    {
        var service = Repo.NewTempFolder($"foreign-resume-{ranks}");
        WriteCheckpointsOfGrid16(service, ranks);

        using var job = Start(ranks, service, "24", "--resume");

        ExpectExit(job, 2);
        var error = Assert.Single(job.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        output.WriteLine(error);
        Assert.Contains("--resume: no checkpoint in ", error, StringComparison.Ordinal);
        Assert.Contains("this job is 'poisson-2d grid=24x24 part=PSN1': start it with the options that wrote the checkpoint, or use another --checkpoint-dir", error, StringComparison.Ordinal);
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("2", result["exit_code"]);
        Assert.DoesNotContain("progress iteration=", job.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void APartThatPassesItsChecksButThatTheSolverRejectsOnOneRank_FailsTheWholeJobPromptly()
    {
        const int Ranks = 3;
        var service = Repo.NewTempFolder("reject-part");
        WriteCheckpointsOfGrid16(service, Ranks);

        // Rank 2's part claims another grid in its header; the manifest is rewritten to match, so only the
        // solver's own reader can notice, on that rank alone.
        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        var id = store.ListIds()[0];
        var manifest = store.ReadManifest(id);
        var path = Path.Combine(store.FolderOf(id), CheckpointStore.PartName(2));
        var bytes = File.ReadAllBytes(path);
        bytes[4] ^= 0x01;
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

    private static void WriteCheckpointsOfGrid16(string service, int ranks)
    {
        using var first = Start(ranks, service, "16", "--tolerance", "1e-14", "--checkpoint-every", "20", "--max-iterations", "45");
        ExpectExit(first, 4);
    }

    private static RunningProcess Start(int ranks, string service, string n, params string[] args) => Start(ranks, service, n, null, args);

    private static RunningProcess Start(int ranks, string service, string n, IDictionary<string, string?>? environment, params string[] args) =>
        RunningProcess.MpiRun(ranks, PoissonJob.Dll, ["--service", service, "--n", n, "--method", "jacobi", "--status-ms", "200", "--progress-ms", "200", .. args], environment);

    private static void ExpectExit(RunningProcess job, int expected)
    {
        var code = job.WaitForExit(Patience);
        Assert.True(code == expected, $"exit code {code}, expected {expected}\n{job.Output}");
    }
}
