using System.Diagnostics;
using System.Text;
using Convergence.Checkpoints;
using Convergence.FileSystem;
using Convergence.Hosting;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// The checkpoint and failure hand-over folders can be written by others: links, FIFOs and swapped folders
/// planted there must never redirect a write, a removal or a read outside the folder, nor block the job.
/// </summary>
public sealed class CheckpointFolderSafetyTests
{
    private static readonly byte[] Payload = Enumerable.Range(0, 4_000).Select(i => (byte)(i * 3)).ToArray();

    [Fact]
    public void ALinkNamedLikeACheckpoint_IsNotListed_AndPruningLeavesTheFolderItPointsToAlone()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-link-prune"));
        var home = Repo.NewTempFolder("users-home");
        File.WriteAllText(Path.Combine(home, "thesis.tex"), "\\chapter{Results}");
        File.WriteAllText(Path.Combine(home, CheckpointStore.PartName(0)), "not a part");
        foreach (var id in new long[] { 2, 3, 4 })
        {
            store.WriteManifest(CheckpointStoreTests.Manifest(id, store.WritePart(id, 0, s => s.Write(Payload))));
        }

        // An old-looking "checkpoint" that is a link to the user's folder, with a manifest in it.
        File.WriteAllText(Path.Combine(home, CheckpointStore.ManifestName), "not a manifest");
        Directory.CreateSymbolicLink(store.FolderOf(1), home);

        Assert.Equal([4L, 3L, 2L], store.ListIds());
        var removed = store.Prune(1, newest: 4);

        Assert.Equal(["ckpt-00000003", "ckpt-00000002"], removed);
        Assert.Equal(
            [CheckpointStore.ManifestName, CheckpointStore.PartName(0), "thesis.tex"],
            Directory.GetFiles(home).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("\\chapter{Results}", File.ReadAllText(Path.Combine(home, "thesis.tex")));
    }

    [Fact]
    public void ACheckpointFolderSwappedForALinkBeforePruning_IsRemovedAsALink_NotEmptied()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-link-swap"));
        var home = Repo.NewTempFolder("users-home");
        File.WriteAllText(Path.Combine(home, "thesis.tex"), "keep me");
        foreach (var id in new long[] { 1, 2, 3 })
        {
            store.WriteManifest(CheckpointStoreTests.Manifest(id, store.WritePart(id, 0, s => s.Write(Payload))));
        }

        // Between listing and removal: ckpt-1 is replaced by a link to the user's folder.
        Directory.Delete(store.FolderOf(1), recursive: true);
        Directory.CreateSymbolicLink(store.FolderOf(1), home);
        using (var root = FolderHandle.Open(store.Root))
        {
            Assert.Equal(EntryKind.Link, root.KindOf("ckpt-00000001"));
        }

        store.Prune(1, newest: 3);

        Assert.Equal("keep me", File.ReadAllText(Path.Combine(home, "thesis.tex")));
        Assert.False(Directory.Exists(Path.Combine(store.Root, CheckpointStore.SpareName, "thesis.tex")));
    }

    [Fact]
    public void APlantedLinkAtAPartsName_IsReplacedByARealPart_AndItsTargetIsNotTruncated()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-link-part"));
        var victim = Path.Combine(Repo.NewTempFolder("users-home"), "data.bin");
        File.WriteAllText(victim, "precious data that must survive");
        Directory.CreateDirectory(store.FolderOf(1));
        File.CreateSymbolicLink(Path.Combine(store.FolderOf(1), CheckpointStore.PartName(0)), victim);

        var part = store.WritePart(1, 0, s => s.Write(Payload));

        Assert.Equal("precious data that must survive", File.ReadAllText(victim));
        var written = new FileInfo(Path.Combine(store.FolderOf(1), CheckpointStore.PartName(0)));
        Assert.Null(written.LinkTarget);
        Assert.Equal(Payload, File.ReadAllBytes(written.FullName));
        Assert.Null(store.VerifyPart(1, part));
    }

    [Fact]
    public void APlantedLinkInTheSpareFolder_IsNotMovedIntoTheNextCheckpoint()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-link-spare"));
        var victim = Path.Combine(Repo.NewTempFolder("users-home"), "data.bin");
        File.WriteAllText(victim, "precious");
        Directory.CreateDirectory(store.SpareFolder);
        File.CreateSymbolicLink(Path.Combine(store.SpareFolder, CheckpointStore.PartName(0)), victim);

        store.WritePart(1, 0, s => s.Write(Payload));

        Assert.Equal("precious", File.ReadAllText(victim));
        Assert.Null(new FileInfo(Path.Combine(store.FolderOf(1), CheckpointStore.PartName(0))).LinkTarget);
    }

    [Fact]
    public void ACheckpointFolderThatIsALink_IsRefused_AndNothingIsWrittenWhereItPoints()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-link-folder"));
        var elsewhere = Repo.NewTempFolder("elsewhere");
        Directory.CreateDirectory(store.Root);
        Directory.CreateSymbolicLink(store.FolderOf(1), elsewhere);

        var error = Assert.ThrowsAny<IOException>(() => store.WritePart(1, 0, s => s.Write(Payload)));

        Assert.Contains("symbolic link", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
    }

    [Fact]
    public async Task AFifoAtAPartsName_DoesNotBlockTheWrite()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-fifo-part"));
        Directory.CreateDirectory(store.FolderOf(1));
        MakeFifo(Path.Combine(store.FolderOf(1), CheckpointStore.PartName(0)));

        var write = Task.Run(() => store.WritePart(1, 0, s => s.Write(Payload)));

        var part = await write.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(store.VerifyPart(1, part));
    }

    [Fact]
    public void AManifestThatIsALink_IsNotReadOrCounted()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-link-manifest"));
        var part = store.WritePart(1, 0, s => s.Write(Payload));
        var real = Path.Combine(Repo.NewTempFolder("elsewhere"), "manifest.txt");
        File.WriteAllText(real, CheckpointStoreTests.Manifest(1, part).Format());
        File.CreateSymbolicLink(Path.Combine(store.FolderOf(1), CheckpointStore.ManifestName), real);

        Assert.False(store.HasManifest(1));
        var error = Assert.Throws<InvalidDataException>(() => store.ReadManifest(1));
        Assert.Contains("symbolic link", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AVerifiedPart_ReadsTheVerifiedBytes_EvenWhenTheFileIsReplacedAfterTheCheck()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-verify-open"));
        var part = store.WritePart(1, 0, s => s.Write(Payload));

        using var stream = store.OpenVerifiedPart(1, part, out var problem);
        Assert.Null(problem);

        // Another job sharing the folder replaces the part between the check and the read.
        var path = Path.Combine(store.FolderOf(1), CheckpointStore.PartName(0));
        File.WriteAllBytes(path + ".new", new byte[Payload.Length]);
        File.Move(path + ".new", path, overwrite: true);

        using var copy = new MemoryStream();
        stream!.CopyTo(copy);
        Assert.Equal(Payload, copy.ToArray());
    }

    [Fact]
    public void AManifestWithAValidChecksumButAnUnparsableDate_IsInvalidData_NotAFormatException()
    {
        var text = CheckpointStoreTests.Manifest(1, new CheckpointPart(0, CheckpointStore.PartName(0), 1, new string('a', 64))).Format();
        var body = text[..text.LastIndexOf("sha256=", StringComparison.Ordinal)];
        var lines = body.Split('\n').Select(l => l.StartsWith("created_at=", StringComparison.Ordinal) ? "created_at=the day after tomorrow" : l);
        var edited = string.Join('\n', lines);
        var resealed = edited + "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(edited))) + "\n";

        var error = Assert.Throws<InvalidDataException>(() => CheckpointManifest.Parse(resealed));
        Assert.Contains("created_at", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheFailureHandOverFolder_AsALink_IsNeitherWrittenThroughNorReadNorEmptied()
    {
        var service = Repo.NewTempFolder("handover-link");
        var elsewhere = Repo.NewTempFolder("elsewhere");
        File.WriteAllText(Path.Combine(elsewhere, "rank-1.txt"), "secret of another user");
        Directory.CreateSymbolicLink(Path.Combine(service, PeerFailureReports.FolderName), elsewhere);
        var reports = new PeerFailureReports(service);

        Assert.ThrowsAny<IOException>(() => reports.Report(2, "rank 2 failed"));
        Assert.Empty(reports.Collect());
        reports.Clear();

        Assert.Equal(["rank-1.txt"], Directory.GetFiles(elsewhere).Select(Path.GetFileName));
        Assert.False(Path.Exists(Path.Combine(service, PeerFailureReports.FolderName)));

        // Once the link is gone the hand-over works as before.
        reports.Report(2, "rank 2 failed");
        Assert.Equal([(2, "rank 2 failed")], reports.Collect());
    }

    [Fact]
    public void AReportThatIsALinkInTheHandOverFolder_IsNotRead()
    {
        var service = Repo.NewTempFolder("handover-report-link");
        var secret = Path.Combine(Repo.NewTempFolder("elsewhere"), "secret.txt");
        File.WriteAllText(secret, "secret of another user");
        var reports = new PeerFailureReports(service);
        reports.Report(1, "rank 1 failed");
        File.CreateSymbolicLink(Path.Combine(reports.Folder, "rank-3.txt"), secret);

        Assert.Equal([(1, "rank 1 failed")], reports.Collect());
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }
}
