using Convergence.Checkpoints;

namespace Convergence.Tests.Checkpoints;

public sealed class CheckpointManifestTests
{
    private static CheckpointManifest Sample() => new()
    {
        Id = 12,
        Job = "poisson run",
        Solver = "Poisson",
        Ranks = 2,
        Iteration = 1200,
        TotalIterations = 1500,
        Tolerance = 1e-8,
        Residual = 3.0000000000000004e-5,
        Restarts = 1,
        Reason = "periodic",
        CreatedAt = new DateTimeOffset(2026, 11, 25, 8, 0, 0, 123, TimeSpan.Zero),
        Parts =
        [
            new CheckpointPart(0, CheckpointStore.PartName(0), 4096, new string('a', 64)),
            new CheckpointPart(1, CheckpointStore.PartName(1), 4104, new string('b', 64)),
        ],
    };

    [Fact]
    public void FormatThenParse_KeepsEveryFieldBitForBit()
    {
        var original = Sample();
        var parsed = CheckpointManifest.Parse(original.Format());

        Assert.Equal(original.Id, parsed.Id);
        Assert.Equal(original.Job, parsed.Job);
        Assert.Equal(original.Ranks, parsed.Ranks);
        Assert.Equal(original.Iteration, parsed.Iteration);
        Assert.Equal(original.TotalIterations, parsed.TotalIterations);
        Assert.Equal(BitConverter.DoubleToInt64Bits(original.Residual), BitConverter.DoubleToInt64Bits(parsed.Residual));
        Assert.Equal(original.Tolerance, parsed.Tolerance);
        Assert.Equal(original.Restarts, parsed.Restarts);
        Assert.Equal(original.CreatedAt, parsed.CreatedAt);
        Assert.Equal(original.Parts, parsed.Parts);
        Assert.Equal(8200, parsed.TotalBytes);
    }

    [Fact]
    public void EditedManifest_IsRefused()
    {
        var text = Sample().Format().Replace("iteration=1200", "iteration=1300", StringComparison.Ordinal);

        var ex = Assert.Throws<InvalidDataException>(() => CheckpointManifest.Parse(text));
        Assert.Contains("checksum", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedManifest_IsRefused()
    {
        var text = Sample().Format();

        foreach (var cut in new[] { 0, 10, text.Length / 2, text.Length - 10, text.Length - 1 })
        {
            Assert.Throws<InvalidDataException>(() => CheckpointManifest.Parse(text[..cut]));
        }
    }

    [Fact]
    public void ManifestOfAnotherFormat_IsRefused()
    {
        var ex = Assert.Throws<InvalidDataException>(() => CheckpointManifest.Parse("something else\nsha256=00\n"));
        Assert.Contains("format", ex.Message, StringComparison.Ordinal);
    }
}
