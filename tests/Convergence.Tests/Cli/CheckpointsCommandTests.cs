using Convergence.Checkpoints;
using Convergence.Tests.Checkpoints;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cli;

/// <summary><c>convergence checkpoints list|verify</c> on real checkpoint folders, through the real executable.</summary>
public sealed class CheckpointsCommandTests
{
    [Fact]
    public void List_ShowsEveryCheckpointWithItsStateAsResumeJudgesIt()
    {
        var (folder, store) = ThreeCheckpoints("cli-list");
        Damage(store, 2);
        File.Delete(Path.Combine(store.FolderOf(3), CheckpointStore.ManifestName));

        var (code, stdout, stderr) = CliProcess.Run(["checkpoints", "list", "--checkpoint-dir", folder]);

        Assert.True(code == 0, stderr);
        Assert.Contains($"checkpoints in {folder}: 1 usable of 3", stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^ID\s+ITERATION\s+TOTAL\s+CREATED \(UTC\)\s+RANKS\s+RESUMES ON\s+BYTES\s+LEVEL\s+STATE\s+KEY$", stdout);
        Assert.Matches(@"(?m)^ckpt-00000003(\s+-){7}\s+incomplete\s+-$", stdout);
        Assert.Matches(@"(?m)^ckpt-00000002\s+10\s+10\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+1\s+1 ranks\s+\d+\s+single\s+damaged\s+relaxation size=64$", stdout);
        Assert.Matches(@"(?m)^ckpt-00000001\s+5\s+5\s+.*\s+complete, verified\s+relaxation size=64$", stdout);
        Assert.Contains("ckpt-00000002: rank-00000.part does not match its SHA-256 in the manifest (altered or damaged)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_FailsWhenTheNewestCompleteCheckpointIsDamagedAndPassesWhenOnlyAnOlderOneIs()
    {
        var (folder, store) = ThreeCheckpoints("cli-verify");
        Damage(store, 1);

        var older = CliProcess.Run(["checkpoints", "verify", "--checkpoint-dir", folder]);
        Assert.True(older.Code == 0, older.Stderr);
        Assert.Contains("ckpt-00000003: complete, verified (1 parts", older.Stdout, StringComparison.Ordinal);
        Assert.Contains("ckpt-00000001: damaged: rank-00000.part does not match its SHA-256", older.Stdout, StringComparison.Ordinal);

        var part = Path.Combine(store.FolderOf(3), CheckpointStore.PartName(0));
        File.WriteAllBytes(part, File.ReadAllBytes(part)[..^4]);
        var newest = CliProcess.Run(["checkpoints", "verify", "--checkpoint-dir", folder]);
        Assert.Equal(1, newest.Code);
        var error = Assert.Single(newest.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"convergence checkpoints verify: the newest checkpoint ckpt-00000003 in {folder} is damaged: rank-00000.part has ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyNamed_FailsOnADamagedOrMissingOneAndPassesOnAGoodOne()
    {
        var (folder, store) = ThreeCheckpoints("cli-verify-named");
        Damage(store, 1);

        var good = CliProcess.Run(["checkpoints", "verify", "--checkpoint-dir", folder, "ckpt-00000002", "3"]);
        var damaged = CliProcess.Run(["checkpoints", "verify", "--checkpoint-dir", folder, "ckpt-00000001"]);
        var missing = CliProcess.Run(["checkpoints", "verify", "--checkpoint-dir", folder, "ckpt-00000007"]);
        var bad = CliProcess.Run(["checkpoints", "verify", "--checkpoint-dir", folder, "newest"]);

        Assert.True(good.Code == 0, good.Stderr);
        Assert.Equal(1, damaged.Code);
        Assert.Equal($"convergence checkpoints verify: ckpt-00000001 in {folder} cannot be loaded: rank-00000.part does not match its SHA-256 in the manifest (altered or damaged)\n", damaged.Stderr);
        Assert.Equal(1, missing.Code);
        Assert.Equal($"convergence checkpoints verify: ckpt-00000007 is not in {folder}\n", missing.Stderr);
        Assert.Equal(2, bad.Code);
        Assert.StartsWith("convergence checkpoints verify: 'newest' is not a checkpoint name", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingFolder_IsOneLineAndExitCodeOne()
    {
        var folder = Path.Combine(Repo.NewTempFolder("cli-nofolder"), "nothing");

        var (code, stdout, stderr) = CliProcess.Run(["checkpoints", "list", "--checkpoint-dir", folder]);

        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Equal($"convergence checkpoints list: checkpoint folder '{folder}' does not exist; name it with --checkpoint-dir (or CONVERGENCE_CHECKPOINT_DIR, or --service for <service>/checkpoints)\n", stderr);
    }

    private static (string Folder, CheckpointStore Store) ThreeCheckpoints(string label)
    {
        var options = InProcessJob.Options(label, "--checkpoint-every", "5", "--max-iterations", "15", "--checkpoint-keep", "5", "--tolerance", "1e-30");
        InProcessJob.Run(new RelaxationSolver(), options);
        var store = new CheckpointStore(options.CheckpointFolder);
        Assert.Equal([3L, 2L, 1L], store.ListIds());
        return (store.Root, store);
    }

    private static void Damage(CheckpointStore store, long id)
    {
        var part = Path.Combine(store.FolderOf(id), CheckpointStore.PartName(0));
        var bytes = File.ReadAllBytes(part);
        bytes[bytes.Length / 2] ^= 0x20;
        File.WriteAllBytes(part, bytes);
    }
}
