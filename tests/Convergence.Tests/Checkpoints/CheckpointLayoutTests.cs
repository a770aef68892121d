using Convergence.Checkpoints;
using Convergence.Solver;

namespace Convergence.Tests.Checkpoints;

/// <summary>The layout of declared arrays in the manifest, and when a checkpoint fits a job on another rank count.</summary>
public sealed class CheckpointLayoutTests
{
    private const string Key = "grid=4x3";

    [Fact]
    public void ManifestWithALayoutAndALevelLine_RoundTripsTheLayoutAndKeepsTheUnknownLine()
    {
        var manifest = WithLayout(2);

        var parsed = CheckpointManifest.Parse(manifest.Format());
        var layout = Assert.IsType<CheckpointLayout>(parsed.Layout);
        Assert.Equal(["u double 4x3", "flags int32 4"], layout.Arrays.Select(a => a.Describe()));
        Assert.Equal([new LayoutSlice(0, 6), new LayoutSlice(6, 6)], layout.Arrays[0].Slices);
        Assert.Equal(6 * 8 + 2 * 4, layout.FreeFormStart(1));
        Assert.Equal(6 * 8, layout.ArrayStart(1, 1));
        Assert.Null(layout.Gap());

        // A line this version does not interpret is kept for the tools.
        var text = manifest.Format();
        var body = text[..text.LastIndexOf("sha256=", StringComparison.Ordinal)].Replace("part=0", "level=node-local\npart=0", StringComparison.Ordinal);
        var withLevel = CheckpointManifest.Parse(body + "sha256=" + CheckpointManifest.Hash(body) + "\n");
        Assert.Equal("node-local", withLevel.OtherFields["level"]);
    }

    [Fact]
    public void SlicesThatLeaveAGapOrOverlap_AreNamed()
    {
        Assert.Equal("array u: the ranks' slices leave out element 6", Layout(new LayoutSlice(0, 6), new LayoutSlice(7, 5)).Gap());
        Assert.Equal("array u: the ranks' slices overlap at element 5", Layout(new LayoutSlice(0, 6), new LayoutSlice(5, 7)).Gap());
        Assert.Equal("array u: the ranks' slices cover 10 of 12 elements", Layout(new LayoutSlice(0, 6), new LayoutSlice(6, 4)).Gap());
    }

    [Fact]
    public void AMalformedLayoutLine_MakesTheManifestInvalid()
    {
        var text = WithLayout(2).Format().Replace("layout.slice=u 1 6 6", "layout.slice=u 1 six 6", StringComparison.Ordinal);
        var body = text[..text.LastIndexOf("sha256=", StringComparison.Ordinal)];

        var ex = Assert.Throws<InvalidDataException>(() => CheckpointManifest.Parse(body + "sha256=" + CheckpointManifest.Hash(body) + "\n"));
        Assert.Equal("manifest layout line 'layout.slice=u 1 six 6' is malformed", ex.Message);
    }

    [Fact]
    public void ACheckpointWithALayout_FitsAnyRankCountOfAJobDeclaringTheSameArraysOnly()
    {
        var manifest = WithLayout(2);
        var same = manifest.Layout!.Signature;

        Assert.Null(CheckpointManager.Misfit(manifest, 3, Key, same));
        Assert.Null(CheckpointManager.Misfit(manifest, 1, Key, CheckpointManager.AnyArrays));
        Assert.Equal(
            "ckpt-00000001 holds arrays 'u double 4x3; flags int32 4', this job declares 'u double 8x3; flags int32 8': start it with the options that wrote the checkpoint, or use another --checkpoint-dir",
            CheckpointManager.Misfit(manifest, 2, Key, "u double 8x3; flags int32 8"));

        // A solver without declared arrays keeps the rank count check, and reads no layout it does not expect.
        Assert.Equal(
            "ckpt-00000001 was written by 2 rank(s), this job has 3: start it with 2 ranks, or use another --checkpoint-dir",
            CheckpointManager.Misfit(manifest, 3, Key, null));
        Assert.Equal("ckpt-00000001 holds declared arrays, this solver declares none: use another --checkpoint-dir", CheckpointManager.Misfit(manifest, 2, Key, null));
    }

    [Fact]
    public void AFreeFormCheckpoint_StillNeedsTheSameRankCountThoughTheJobDeclaresArrays()
    {
        var manifest = WithLayout(2) with { Layout = null };

        Assert.Equal(
            "ckpt-00000001 was written by 2 rank(s), this job has 3: start it with 2 ranks, or use another --checkpoint-dir",
            CheckpointManager.Misfit(manifest, 3, Key, "u double 4x3; flags int32 4"));
        Assert.StartsWith("ckpt-00000001 has no array layout", CheckpointManager.Misfit(manifest, 2, Key, "u double 4x3; flags int32 4"), StringComparison.Ordinal);
    }

    [Fact]
    public void ADeclaredSliceOutsideTheArray_IsRefusedWhereItIsDeclared()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => CheckpointArray.Of("u", [4, 3], 10, new double[3]));
        Assert.Contains("elements 10..12 are outside the global array of 12", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CheckpointArray.Of("two words", [4], 0, new double[4]));
    }

    private static CheckpointLayout Layout(params LayoutSlice[] slices) =>
        new([new LayoutArray("u", CheckpointElementType.Doubles, [4, 3], slices)]);

    private static CheckpointManifest WithLayout(int ranks)
    {
        var parts = Enumerable.Range(0, ranks).Select(r => new CheckpointPart(r, CheckpointStore.PartName(r), 100, new string('a', 64))).ToArray();
        return CheckpointStoreTests.Manifest(1, parts) with
        {
            Key = Key,
            Layout = new CheckpointLayout(
            [
                new LayoutArray("u", CheckpointElementType.Doubles, [4, 3], Enumerable.Range(0, ranks).Select(r => new LayoutSlice(r * 12 / ranks, 12 / ranks)).ToList()),
                new LayoutArray("flags", CheckpointElementType.Ints, [4], Enumerable.Range(0, ranks).Select(r => new LayoutSlice(r * 4 / ranks, 4 / ranks)).ToList()),
            ]),
        };
    }
}
