using Convergence.Checkpoints;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

public sealed class CheckpointStoreTests
{
    private static readonly byte[] Payload = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7)).ToArray();

    [Fact]
    public void WrittenPart_VerifiesAndReadsBackAndLeavesNoTemporaryFile()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-store"));

        var part = store.WritePart(1, 0, s => s.Write(Payload));

        Assert.Equal(Payload.Length, part.Length);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Payload)), part.Sha256);
        Assert.Null(store.VerifyPart(1, part));
        using (var stream = store.OpenPart(1, part))
        using (var copy = new MemoryStream())
        {
            stream.CopyTo(copy);
            Assert.Equal(Payload, copy.ToArray());
        }

        Assert.Equal([CheckpointStore.PartName(0)], Directory.GetFiles(store.FolderOf(1)).Select(Path.GetFileName));
    }

    [Fact]
    public void WrittenPart_OfSmallAndLargeWritesAcrossTheChunkBoundaries_HoldsExactlyTheBytesWithTheirSha256()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-chunks"));
        var random = new Random(12);
        var data = new byte[(3 << 20) + 12_345];
        random.NextBytes(data);

        // Single bytes, a block that fills the buffer past 1 MiB, a block of several MiB, and a tail.
        var part = store.WritePart(2, 3, s =>
        {
            s.WriteByte(data[0]);
            s.Write(data, 1, 999);
            s.Write(data.AsSpan(1000, (1 << 20) + 10));
            s.Write(data.AsSpan((1 << 20) + 1010, (2 << 20) + 5));
            s.Write(data.AsSpan((3 << 20) + 1015));
        });

        Assert.Equal(data.Length, part.Length);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), part.Sha256);
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(store.FolderOf(2), CheckpointStore.PartName(3))));
        Assert.Null(store.VerifyPart(2, part));
    }

    [Fact]
    public void APartWhoseSolverThrows_LeavesNoFileBehind()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-throw"));

        Assert.Throws<InvalidOperationException>(() => store.WritePart(1, 0, s =>
        {
            s.Write(Payload);
            throw new InvalidOperationException("solver failed");
        }));

        Assert.Empty(Directory.GetFiles(store.FolderOf(1)));
    }

    [Fact]
    public void TruncatedPart_IsReported()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-trunc"));
        var part = store.WritePart(1, 0, s => s.Write(Payload));
        var path = Path.Combine(store.FolderOf(1), part.FileName);
        using (var f = new FileStream(path, FileMode.Open))
        {
            f.SetLength(Payload.Length - 1);
        }

        Assert.Contains("truncated", store.VerifyPart(1, part), StringComparison.Ordinal);
    }

    [Fact]
    public void AlteredPart_IsReported()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-alter"));
        var part = store.WritePart(1, 0, s => s.Write(Payload));
        var path = Path.Combine(store.FolderOf(1), part.FileName);
        var bytes = File.ReadAllBytes(path);
        bytes[5000] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        Assert.Contains("SHA-256", store.VerifyPart(1, part), StringComparison.Ordinal);
    }

    [Fact]
    public void Prune_KeepsTheNewestCompleteOnesAndRemovesOlderAndIncompleteFolders()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-prune"));
        foreach (var id in new long[] { 1, 2, 3, 4, 5, 6 })
        {
            var part = store.WritePart(id, 0, s => s.Write(Payload));
            if (id != 5)
            {
                // 5 plays a crash between the parts and the manifest.
                store.WriteManifest(Manifest(id, part));
            }
        }

        var removed = store.Prune(2, newest: 6);

        Assert.Equal([6L, 4L], store.ListIds());
        Assert.Equal(["ckpt-00000005", "ckpt-00000003", "ckpt-00000002", "ckpt-00000001"], removed);
    }

    [Fact]
    public void Prune_TurnsTheFirstRemovedFolderIntoTheSpare_WhosePartTheNextCheckpointWritesOverAndCutsToLength()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-spare"));
        var longer = Enumerable.Range(0, 30_000).Select(i => (byte)(i * 13)).ToArray();
        foreach (var id in new long[] { 1, 2, 3 })
        {
            var written = store.WritePart(id, 0, s => s.Write(id == 1 ? longer : Payload));
            store.WriteManifest(Manifest(id, written));
        }

        File.WriteAllText(Path.Combine(store.FolderOf(1), "side.txt"), "rank 0's side file");

        var removed = store.Prune(2, newest: 3);

        // ckpt-1 is gone as a checkpoint; its part waits in the spare, without its manifest or side file.
        Assert.Equal(["ckpt-00000001"], removed);
        Assert.Equal([3L, 2L], store.ListIds());
        Assert.Equal([CheckpointStore.PartName(0)], Directory.GetFiles(store.SpareFolder).Select(Path.GetFileName));
        var spareLength = new FileInfo(Path.Combine(store.SpareFolder, CheckpointStore.PartName(0))).Length;
        Assert.Equal(longer.Length, spareLength);

        // The next part takes the spare file (it leaves the spare) and holds exactly the new, shorter bytes.
        var part = store.WritePart(4, 0, s => s.Write(Payload));

        Assert.Empty(Directory.GetFiles(store.SpareFolder));
        Assert.Equal(Payload, File.ReadAllBytes(Path.Combine(store.FolderOf(4), part.FileName)));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Payload)), part.Sha256);
        Assert.Null(store.VerifyPart(4, part));
        Assert.False(store.HasManifest(4));

        // The next prune replaces the (now empty) spare with the next folder removed.
        store.WriteManifest(Manifest(4, part));
        Assert.Equal(["ckpt-00000002"], store.Prune(2, newest: 4));
        Assert.Equal([4L, 3L], store.ListIds());
        Assert.Equal([CheckpointStore.PartName(0)], Directory.GetFiles(store.SpareFolder).Select(Path.GetFileName));
    }

    [Fact]
    public void ASparePartThatTheNextCheckpointWritesOverLongerThanBefore_HoldsExactlyTheNewBytes()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-spare-grow"));
        foreach (var id in new long[] { 1, 2 })
        {
            store.WriteManifest(Manifest(id, store.WritePart(id, 0, s => s.Write(Payload))));
        }

        store.Prune(1, newest: 2);
        var data = new byte[(2 << 20) + 77];
        new Random(3).NextBytes(data);

        var part = store.WritePart(3, 0, s => s.Write(data));

        Assert.Equal(data, File.ReadAllBytes(Path.Combine(store.FolderOf(3), part.FileName)));
        Assert.Null(store.VerifyPart(3, part));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void ASpareFromAJobWithFourRanks_GivesEachRankOfTheNextJobItsOwnPart_AndTheRestGoesWithTheNextPrune(int ranks)
    {
        var store = new CheckpointStore(Repo.NewTempFolder($"ckpt-spare-ranks-{ranks}"));
        foreach (var id in new long[] { 1, 2 })
        {
            var parts = Enumerable.Range(0, 4).Select(r => store.WritePart(id, r, s => s.Write(Payload))).ToArray();
            store.WriteManifest(Manifest(id, parts));
        }

        store.Prune(1, newest: 2);
        Assert.Equal(Enumerable.Range(0, 4).Select(CheckpointStore.PartName), Directory.GetFiles(store.SpareFolder).Select(Path.GetFileName).Order());

        // The next job has `ranks` ranks: each takes its own part of the spare, the others' stay there.
        var data = Enumerable.Range(0, 5000).Select(i => (byte)(i * 11)).ToArray();
        var next = Enumerable.Range(0, ranks).Select(r => store.WritePart(3, r, s => s.Write(data))).ToArray();

        Assert.Equal(Enumerable.Range(ranks, 4 - ranks).Select(CheckpointStore.PartName), Directory.GetFiles(store.SpareFolder).Select(Path.GetFileName).Order());
        Assert.All(next, p => Assert.Null(store.VerifyPart(3, p)));
        Assert.All(next, p => Assert.Equal(data, File.ReadAllBytes(Path.Combine(store.FolderOf(3), p.FileName))));
        store.WriteManifest(Manifest(3, next));
        store.Prune(1, newest: 3);
        Assert.Equal([3L], store.ListIds());
        Assert.Equal(Enumerable.Range(0, 4).Select(CheckpointStore.PartName), Directory.GetFiles(store.SpareFolder).Select(Path.GetFileName).Order());
        store.RemoveSpare();
        Assert.False(Directory.Exists(store.SpareFolder));
    }

    [Fact]
    public void ManifestInACopiedFolder_IsRefused()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-copy"));
        var part = store.WritePart(1, 0, s => s.Write(Payload));
        store.WriteManifest(Manifest(1, part));
        Directory.Move(store.FolderOf(1), store.FolderOf(9));

        var ex = Assert.Throws<InvalidDataException>(() => store.ReadManifest(9));
        Assert.Contains("names checkpoint 1", ex.Message, StringComparison.Ordinal);
    }

    internal static CheckpointManifest Manifest(long id, params CheckpointPart[] parts) => new()
    {
        Id = id,
        Job = "test",
        Solver = "relaxation",
        Ranks = parts.Length,
        Iteration = id * 10,
        TotalIterations = id * 10,
        Tolerance = 1e-6,
        Residual = 0.5,
        Restarts = 0,
        Reason = "test",
        CreatedAt = DateTimeOffset.UtcNow,
        Parts = parts,
    };
}
