using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Convergence.Checkpoints;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Solver;
using static MPI.Unsafe;

namespace Convergence.MpiHarness;

/// <summary>
/// Checkpoint costs: the confirmation collectives before (one allreduce of 10 × ranks doubles, and of
/// ranks doubles on resume) and after (a gather to rank 0 plus one 8-byte broadcast), and the throughput
/// of a whole checkpoint against a raw parallel write+fsync of the same bytes, side by side in one run.
/// </summary>
/// <remarks>
/// Collective: every rank makes the same calls; the slowest rank's time counts. The "before" rows call
/// MPI_Allreduce directly, because the old protocol's 10 × ranks doubles exceed the coordinator's cap from
/// 7 ranks on (the bug this replaced).
/// </remarks>
internal sealed class CheckpointSuite(ICoordinator world, HarnessOptions options)
{
    private const int SlotsPerRank = 10;

    public string Run()
    {
        var table = new StringBuilder();
        Confirmation(table);
        if (options.Quick || options.CheckpointBytes > 0)
        {
            table.AppendLine();
            Throughput(table);
        }
        return table.ToString();
    }

    private void Confirmation(StringBuilder table)
    {
        var calls = options.Quick ? 100 : options.CheckpointCalls;
        var repeats = options.Quick ? 1 : options.CheckpointRepeats;
        var size = world.Size;
        var wide = new double[SlotsPerRank * size];
        var wideResult = new double[SlotsPerRank * size];
        var narrow = new double[size];
        var narrowResult = new double[size];
        var mine = new double[SlotsPerRank];
        var gathered = world.Rank == 0 ? new double[SlotsPerRank * size] : [];
        var one = new double[1];
        var gatheredOne = world.Rank == 0 ? new double[size] : [];
        var verdict = new byte[8];
        var rows = new (string Label, Action Call)[]
        {
            ($"write, before: allreduce {SlotsPerRank}x{size} doubles", () => RawAllreduce(wide, wideResult)),
            ($"write, after: gather {SlotsPerRank} + bcast 8 B", () =>
            {
                world.Gather(mine, gathered);
                world.Broadcast(verdict);
            }),
            ($"resume, before: allreduce {size} doubles", () => RawAllreduce(narrow, narrowResult)),
            ("resume, after: gather 1 + bcast 8 B", () =>
            {
                world.Gather(one, gatheredOne);
                world.Broadcast(verdict);
            }),
        };

        // Interleaved: every repeat runs every row once, so a load burst on the shared machine hits all rows.
        var samples = rows.Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < repeats + 1; r++)
        {
            for (var k = 0; k < rows.Length; k++)
            {
                world.Barrier();
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < calls; i++)
                {
                    rows[k].Call();
                }

                var slowest = world.AllreduceMax(Stopwatch.GetElapsedTime(start).TotalSeconds);
                if (r > 0)
                {
                    samples[k].Add(slowest / calls * 1e6);
                }
            }
        }

        table.AppendLine(CultureInfo.InvariantCulture, $"Checkpoint confirmation at np {size}: {calls} calls per repeat, median of {repeats} interleaved repeats, slowest rank");
        table.AppendLine("collective                                        us/call   after/before");
        for (var k = 0; k < rows.Length; k++)
        {
            var median = Statistics.Median(samples[k]);
            var ratio = k % 2 == 1 ? (median / Statistics.Median(samples[k - 1])).ToString("0.00", CultureInfo.InvariantCulture) : string.Empty;
            table.AppendLine(CultureInfo.InvariantCulture, $"{rows[k].Label,-48} {median,8:F2}   {ratio}");
        }
    }

    private void Throughput(StringBuilder table)
    {
        var bytesPerRank = options.Quick ? 1 << 20 : options.CheckpointBytes;
        var repeats = options.Quick ? 1 : options.CheckpointRepeats;
        var payload = new byte[bytesPerRank];
        new Random(world.Rank + 1).NextBytes(payload);

        // One folder for both, so both write to the same file system; rank 0 names it, everyone uses it.
        var root = Path.Combine(options.CheckpointFolder ?? Path.GetTempPath(), FormattableString.Invariant($"convergence-harness-ckpt-{JobId()}"));
        var store = new CheckpointStore(Path.Combine(root, "checkpoints"));
        var rawFolder = Path.Combine(root, "raw");
        Directory.CreateDirectory(rawFolder);
        var manager = new CheckpointManager(store, new PayloadSolver(payload), world, "harness", "harness", 2, _ => { }, null);
        manager.Initialize();
        var state = new ControlLoopState { Tolerance = 1e-6, Residual = 1 };
        var raw = new List<double>();
        var rawOverwrite = new List<double>();
        var checkpoint = new List<double>();
        var ratios = new List<double>();
        var ratiosOverwrite = new List<double>();
        var pruning = new List<double>();
        var ratiosWithPruning = new List<double>();
        // The same bytes written over a file that already holds as many: what a checkpoint costs once it
        // reuses a pruned checkpoint's parts (CheckpointStore.SpareFolder), shown beside the target's baseline.
        var reused = Path.Combine(rawFolder, FormattableString.Invariant($"rank-{world.Rank:D5}.reused"));
        RawWrite(reused, payload);
        for (var r = 0; r < repeats + 1; r++)
        {
            // Rotating which goes first, so none always meets another's writeback.
            double rawMs = 0, overwriteMs = 0, ckptMs = 0, pruneMs = 0;
            for (var pass = 0; pass < 3; pass++)
            {
                var which = (pass + r) % 3;
                if (which == 0)
                {
                    rawMs = Timed(() => RawWrite(Path.Combine(rawFolder, FormattableString.Invariant($"rank-{world.Rank:D5}-{r}.raw")), payload));
                }
                else if (which == 1)
                {
                    overwriteMs = Timed(() => RawOverwrite(reused, payload));
                }
                else
                {
                    state.TotalIterations++;
                    ckptMs = Timed(() => manager.Write(state, "benchmark"));

                    // Rank 0 completes the manifest and removes the checkpoint before last in the background;
                    // waited for here, outside the write, so the raw writes never compete with it, and
                    // reported on its own row. (WaitForPruning, the job's end, would also drop the spare parts.)
                    pruneMs = Timed(manager.WaitForBackground);
                }
            }

            foreach (var stale in Directory.EnumerateFiles(rawFolder, FormattableString.Invariant($"rank-{world.Rank:D5}-*.raw")))
            {
                File.Delete(stale);
            }

            if (r > 0)
            {
                raw.Add(rawMs);
                rawOverwrite.Add(overwriteMs);
                checkpoint.Add(ckptMs);
                ratios.Add(ckptMs / rawMs);
                ratiosOverwrite.Add(ckptMs / overwriteMs);
                pruning.Add(pruneMs);
                ratiosWithPruning.Add((ckptMs + pruneMs) / rawMs);
            }
        }

        manager.WaitForPruning();
        world.Barrier();
        if (world.Rank == 0)
        {
            Directory.Delete(root, recursive: true);
        }

        table.AppendLine(CultureInfo.InvariantCulture, $"Checkpoint throughput at np {world.Size}: {bytesPerRank} bytes per rank ({world.Size * (long)bytesPerRank} in all) in {root}, median of {repeats} interleaved pairs, slowest rank");
        table.AppendLine(CultureInfo.InvariantCulture, $"raw parallel write+fsync (per rank: write, fsync, close)   {Statistics.Median(raw),8:F1} ms");
        table.AppendLine(CultureInfo.InvariantCulture, $"raw overwrite+fsync of a file of that size (same file)     {Statistics.Median(rawOverwrite),8:F1} ms");
        table.AppendLine(CultureInfo.InvariantCulture, $"checkpoint, the write the loop waits for (parts, SHA-256)  {Statistics.Median(checkpoint),8:F1} ms");
        table.AppendLine(CultureInfo.InvariantCulture, $"then rank 0's background (manifest, flushes, pruning)     {Statistics.Median(pruning),8:F1} ms");
        table.AppendLine(CultureInfo.InvariantCulture, $"ratio checkpoint/raw, median of pairs                     {Statistics.Median(ratios),8:F2}  (p25 {Statistics.Percentile(ratios, 25):F2}, p75 {Statistics.Percentile(ratios, 75):F2}; target <= 1.25)");
        table.AppendLine(CultureInfo.InvariantCulture, $"ratio checkpoint/raw overwrite, median of pairs           {Statistics.Median(ratiosOverwrite),8:F2}  (p25 {Statistics.Percentile(ratiosOverwrite, 25):F2}, p75 {Statistics.Percentile(ratiosOverwrite, 75):F2})");

        // Checkpoints 2 and 3 (the first two measured) find no spare yet (keep 2: the first prune is after 3).
        table.AppendLine(CultureInfo.InvariantCulture, $"first two measured checkpoints (new files, no spare yet): {checkpoint[0]:F1}, {(checkpoint.Count > 1 ? checkpoint[1] : double.NaN):F1} ms (ratio {ratios[0]:F2}, {(ratios.Count > 1 ? ratios[1] : double.NaN):F2})");
        table.AppendLine(CultureInfo.InvariantCulture, $"ratio (checkpoint + background)/raw, median of pairs      {Statistics.Median(ratiosWithPruning),8:F2}  (p25 {Statistics.Percentile(ratiosWithPruning, 25):F2}, p75 {Statistics.Percentile(ratiosWithPruning, 75):F2})");
    }

    /// <summary>Collective: the slowest rank's time for <paramref name="action"/>, in ms.</summary>
    private double Timed(Action action)
    {
        world.Barrier();
        var start = Stopwatch.GetTimestamp();
        action();
        return world.AllreduceMax(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    private static void RawWrite(string path, byte[] payload)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        stream.Write(payload);
        stream.Flush(flushToDisk: true);
    }

    private static void RawOverwrite(string path, byte[] payload)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None, 1 << 16);
        stream.Write(payload);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Collective: one number for this run, so concurrent harness runs do not share a folder.</summary>
    private long JobId()
    {
        var id = new byte[8];
        if (world.Rank == 0)
        {
            BitConverter.TryWriteBytes(id, Environment.ProcessId * 1000L + Random.Shared.Next(1000));
        }

        world.Broadcast(id);
        return BitConverter.ToInt64(id);
    }

    private static void RawAllreduce(double[] send, double[] receive)
    {
        var s = GCHandle.Alloc(send, GCHandleType.Pinned);
        var r = GCHandle.Alloc(receive, GCHandleType.Pinned);
        try
        {
            if (MPI_Allreduce(s.AddrOfPinnedObject(), r.AddrOfPinnedObject(), send.Length, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            {
                throw new InvalidOperationException("MPI_Allreduce failed");
            }
        }
        finally
        {
            s.Free();
            r.Free();
        }
    }

    /// <summary>A solver whose whole state is a byte buffer: the checkpoint writes exactly the raw bytes.</summary>
    private sealed class PayloadSolver(byte[] payload) : ICheckpointable
    {
        public void WriteCheckpoint(Stream stream) => stream.Write(payload);

        public void ReadCheckpoint(Stream stream) => stream.ReadExactly(payload);
    }
}
