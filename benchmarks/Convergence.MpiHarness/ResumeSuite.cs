using System.Diagnostics;
using System.Globalization;
using System.Text;
using Convergence.Checkpoints;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Solver;

namespace Convergence.MpiHarness;

/// <summary>
/// Resume time against checkpoint size (issue 22): a solver whose state is one declared global array of
/// doubles writes a checkpoint, then every rank loads it again as <c>--resume</c> does (the manifest from rank
/// 0, each rank's part opened, re-hashed and read through one descriptor, the verdict agreed), repeated;
/// beside it, a raw read of the same part without hashing, so the table shows what the verification costs,
/// and a load into a different split (every rank but the first straddles two parts, the last holds one and a
/// half slices), which reads and verifies each part on up to two ranks, as a resume on another rank count does.
/// </summary>
/// <remarks>
/// Collective; the slowest rank's time counts. The parts were just written, so the reads mostly come from the
/// page cache: this measures the hashing and the protocol, not a cold parallel file system.
/// </remarks>
internal sealed class ResumeSuite(ICoordinator world, HarnessOptions options)
{
    public string Run()
    {
        var table = new StringBuilder();
        var repeats = options.Quick ? 1 : options.CheckpointRepeats;
        var sizes = options.Quick ? [1L << 20] : options.ResumeSizes;
        var root = Path.Combine(options.CheckpointFolder ?? Path.GetTempPath(), FormattableString.Invariant($"convergence-harness-resume-{JobId()}"));
        table.AppendLine(CultureInfo.InvariantCulture, $"Resume at np {world.Size}: one declared array, median of {repeats} loads per size, slowest rank, in {root}");
        table.AppendLine("bytes/rank     total bytes   resume ms   raw read ms   resume MB/s (all ranks)   other split ms");
        foreach (var bytesPerRank in sizes)
        {
            var count = (int)(bytesPerRank / sizeof(double));
            var data = new double[count];
            for (var i = 0; i < count; i++)
            {
                data[i] = (world.Rank * (double)count) + i;
            }

            var store = new CheckpointStore(Path.Combine(root, FormattableString.Invariant($"s{bytesPerRank}")));
            var solver = new ArraySolver(data, (long)count * world.Rank, (long)count * world.Size);
            var manager = new CheckpointManager(store, solver, world, "harness", "harness", 1, _ => { }, null);
            manager.Initialize();
            var state = new ControlLoopState { Tolerance = 1e-6, Residual = 1, Iteration = 1, TotalIterations = 1 };
            manager.Write(state, "stop");
            var part = Path.Combine(store.FolderOf(1), CheckpointStore.PartName(world.Rank));
            var resume = new List<double>();
            var raw = new List<double>();
            var shifted = new List<double>();
            var (shiftedOffset, shiftedCount) = Shifted(count);
            var other = new double[shiftedCount];
            var otherManager = new CheckpointManager(store, new ArraySolver(other, shiftedOffset, (long)count * world.Size), world, "harness", "harness", 1, _ => { }, null);
            for (var r = 0; r < repeats; r++)
            {
                Array.Clear(data);
                resume.Add(Timed(() => manager.Resume(new ControlLoopState { Tolerance = 1e-6, Residual = 1 })));
                raw.Add(Timed(() => RawRead(part)));
                shifted.Add(Timed(() => otherManager.Resume(new ControlLoopState { Tolerance = 1e-6, Residual = 1 })));
            }

            if (other[0] != shiftedOffset || other[^1] != shiftedOffset + shiftedCount - 1)
            {
                throw new InvalidOperationException("the array loaded into the other split does not hold what was written");
            }

            if (data[^1] != (world.Rank * (double)count) + count - 1)
            {
                throw new InvalidOperationException("the resumed array does not hold what was written");
            }

            var median = Statistics.Median(resume);
            var total = bytesPerRank * world.Size;
            table.AppendLine(CultureInfo.InvariantCulture, $"{bytesPerRank,10}  {total,12}   {median,9:F1}   {Statistics.Median(raw),11:F1}   {total / 1e6 / (median / 1e3),8:F0}                  {Statistics.Median(shifted),8:F1}");
        }

        world.Barrier();
        if (world.Rank == 0)
        {
            Directory.Delete(root, recursive: true);
        }

        return table.ToString();
    }

    /// <summary>This rank's slice in the other split: shifted by half a slice, the last rank taking the rest.</summary>
    private (long Offset, int Count) Shifted(int count)
    {
        var half = count / 2;
        if (world.Size == 1)
        {
            return (0, count);
        }

        if (world.Rank == 0)
        {
            return (0, half);
        }

        var offset = ((long)(world.Rank - 1) * count) + half;
        return world.Rank == world.Size - 1 ? (offset, (int)(((long)count * world.Size) - offset)) : (offset, count);
    }

    /// <summary>Collective: the slowest rank's time for <paramref name="action"/>, in ms.</summary>
    private double Timed(Action action)
    {
        world.Barrier();
        var start = Stopwatch.GetTimestamp();
        action();
        return world.AllreduceMax(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    private static void RawRead(string path)
    {
        var buffer = new byte[1 << 16];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        while (stream.Read(buffer) > 0)
        {
        }
    }

    private long JobId()
    {
        var id = new byte[8];
        if (world.Rank == 0)
        {
            BitConverter.TryWriteBytes(id, (Environment.ProcessId * 1000L) + Random.Shared.Next(1000));
        }

        world.Broadcast(id);
        return BitConverter.ToInt64(id);
    }

    /// <summary>A solver whose state is one global array of doubles, split in equal slices.</summary>
    private sealed class ArraySolver(double[] data, long offset, long length) : IDistributedCheckpointable
    {
        public IReadOnlyList<CheckpointArray> CheckpointArrays => [CheckpointArray.Of("x", [length], offset, data.AsMemory())];

        public void WriteCheckpoint(Stream stream)
        {
        }

        public void ReadCheckpoint(Stream stream)
        {
        }
    }
}
