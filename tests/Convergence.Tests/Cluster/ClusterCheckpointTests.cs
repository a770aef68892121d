using System.Globalization;
using System.Text.RegularExpressions;
using Convergence.Mpi;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cluster;

/// <summary>
/// Two-level checkpoints on the namespace cluster: <c>--checkpoint-dir</c> on each node's own <c>/scratch</c>
/// (not shared), the service folder's checkpoints as the shared level. The Poisson example on 4 ranks, 2 per
/// node; STOP writes the last checkpoint.
/// </summary>
public abstract partial class ClusterCheckpointTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(150);

    /// <summary>The MPI the derived class launches with.</summary>
    protected abstract MpiFamily Mpi { get; }

    [Fact]
    public void NodeLocalFolder_IsDetected_PrunedAlikeOnEveryNode_AndAResumeWithRankZeroOnTheOtherNodeContinues()
    {
        var service = Repo.NewTempFolder("cluster-ckpt");
        var scratch = $"/scratch/{Path.GetFileName(service)}";
        try
        {
            using (var first = Start(service, scratch, LocalCluster.First, LocalCluster.Second, ["--checkpoint-every", "3", "--checkpoint-keep", "2"]))
            {
                WaitForOutput(first, "progress iteration=", 1);
                WaitForCheckpoints(first, 4);
                LocalCluster.Append(LocalCluster.Second, Path.Combine(service, "notifications.txt"), "STOP");
                Assert.Equal(0, first.WaitForExit(Patience));
                Assert.Contains($"checkpoints: folder {scratch} is node-local (the ranks see 2 different folders by that name); each part is also copied in the background to the shared level {Path.Combine(service, "checkpoints")}", first.Stdout, StringComparison.Ordinal);
                Assert.Matches(@"checkpoint ckpt-\d+: every part is in the shared level", first.Stdout);
            }

            var stopped = Notify.ReadResult(service);
            Assert.Equal("STOPPED", stopped["outcome"]);
            var last = Path.GetFileName(stopped["checkpoint"]);
            Assert.Equal(Path.Combine(service, "checkpoints", last), stopped["checkpoint_shared"]);

            // The same retention on both nodes and in the shared level, and every node's copy of the newest is
            // complete there (its manifest beside the parts its ranks wrote).
            var onFirst = Checkpoints(LocalCluster.First, scratch);
            var onSecond = Checkpoints(LocalCluster.Second, scratch);
            var shared = Directory.GetDirectories(Path.Combine(service, "checkpoints"), "ckpt-*").Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(2, onFirst.Count);
            Assert.Equal(onFirst, onSecond);
            Assert.Equal(onFirst, shared);
            Assert.Equal(last, onFirst[^1]);
            Assert.Equal(["manifest.txt", "rank-00000.part", "rank-00001.part"], Files(LocalCluster.First, $"{scratch}/{last}"));
            Assert.Equal(["manifest.txt", "rank-00002.part", "rank-00003.part"], Files(LocalCluster.Second, $"{scratch}/{last}"));

            // Rank 0 on node2 now: ranks 0-1 find their parts only in the shared level, 2-3 on node1 likewise.
            using var resumed = Start(service, scratch, LocalCluster.Second, LocalCluster.First, ["--resume"]);
            WaitForOutput(resumed, "resumed from ", 1);
            LocalCluster.Append(LocalCluster.First, Path.Combine(service, "notifications.txt"), "STOP");
            Assert.Equal(0, resumed.WaitForExit(Patience));
            Assert.Matches($@"signals: \S+ on rank 0 pid \d+ host {LocalCluster.Second}\b", resumed.Stdout);
            Assert.Contains($"rank 0's node holds 2 complete checkpoint(s), the shared level 2; the newest on any node or level: {last}", resumed.Stdout, StringComparison.Ordinal);
            Assert.Contains($"resumed from {last} at iteration {stopped["iteration"]} (total {stopped["total_iterations"]})", resumed.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("starting from the initial state", resumed.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("interrupted", resumed.Stdout, StringComparison.Ordinal);
            Assert.Equal(4, PartsFromShared(resumed.Stdout, last));
            var result = Notify.ReadResult(service);
            Assert.Equal("STOPPED", result["outcome"]);
            Assert.True(long.Parse(result["total_iterations"], CultureInfo.InvariantCulture) >= long.Parse(stopped["total_iterations"], CultureInfo.InvariantCulture), $"the resumed job ended at total {result["total_iterations"]}, before the checkpoint's {stopped["total_iterations"]}\n{resumed.Output}");
        }
        finally
        {
            Wipe(scratch);
        }
    }

    /// <summary>Starts the Poisson example on the cluster with its checkpoints in <paramref name="scratch"/> (node-local).</summary>
    protected RunningProcess Start(string service, string scratch, string rankZeroNode, string otherNode, IEnumerable<string> more) =>
        LocalCluster.MpiRun(Mpi, Poisson, [
            "--service", service, "--checkpoint-dir", scratch, "--n", "16", "--method", "jacobi", "--tolerance", "1e-12",
            "--slow-ms", "2", "--progress-ms", "100", .. more], rankZeroNode, otherNode);

    /// <summary>Waits until <paramref name="text"/> is in the job's output <paramref name="count"/> times (or the job ended).</summary>
    protected static void WaitForOutput(RunningProcess job, string text, int count) =>
        ServiceFiles.WaitUntil(
            () => job.HasExited || CountOf(job.Stdout, text) >= count,
            Patience,
            () => $"'{text}' not seen {count} time(s)\n{job.Output}");

    /// <summary>Waits until rank 0 logged <paramref name="count"/> complete checkpoints.</summary>
    protected static void WaitForCheckpoints(RunningProcess job, int count) =>
        ServiceFiles.WaitUntil(
            () => job.HasExited || CompleteLine().Count(job.Stdout) >= count,
            Patience,
            () => $"{count} checkpoints not complete\n{job.Output}");

    /// <summary>The checkpoint folders in <paramref name="folder"/> on <paramref name="node"/>, sorted.</summary>
    protected static List<string> Checkpoints(string node, string folder) =>
        Files(node, folder).Where(n => n.StartsWith("ckpt-", StringComparison.Ordinal)).ToList();

    /// <summary>The entries of <paramref name="folder"/> on <paramref name="node"/>, sorted (empty when it does not exist).</summary>
    protected static List<string> Files(string node, string folder) =>
        LocalCluster.Run(node, "/bin/sh", "-c", "ls -1 \"$1\" 2>/dev/null || true", "sh", folder)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal).ToList();

    /// <summary>Removes <paramref name="folder"/> on <paramref name="node"/>.</summary>
    protected static void Wipe(string node, string folder) => LocalCluster.Run(node, "rm", "-rf", folder);

    /// <summary>How many ranks logged that they read their part of <paramref name="name"/> from the shared level.</summary>
    protected static int PartsFromShared(string stdout, string name) =>
        CountOf(stdout, $"checkpoint {name}: this rank's part is read from the shared level");

    private static void Wipe(string folder)
    {
        foreach (var node in new[] { LocalCluster.First, LocalCluster.Second })
        {
            try
            {
                Wipe(node, folder);
            }
            catch (InvalidOperationException)
            {
                // Best effort: the tmpfs goes with the cluster.
            }
        }
    }

    private static int CountOf(string text, string part) => Regex.Count(text, Regex.Escape(part));

    [GeneratedRegex(@"checkpoint ckpt-\d+ complete \(")]
    private static partial Regex CompleteLine();
}

/// <summary>Two-level checkpoints across nodes under MPICH's hydra, with the parts only in the shared level or nowhere.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MpichClusterCheckpointTests : ClusterCheckpointTests
{
    /// <inheritdoc />
    protected override MpiFamily Mpi => MpiFamily.MpichAbi;

    [Fact]
    public void WipedNode_ResumesFromTheSharedLevel_AndWithThePartsNowhere_ResumeExitsTwoWithOneLine()
    {
        var service = Repo.NewTempFolder("cluster-wipe");
        var scratch = $"/scratch/{Path.GetFileName(service)}";
        var sharedLevel = Path.Combine(service, "shared-level");
        string[] options = ["--checkpoint-shared", sharedLevel];
        var notifications = Path.Combine(service, "notifications.txt");
        try
        {
            using (var first = Start(service, scratch, LocalCluster.First, LocalCluster.Second, options))
            {
                // CHECKPOINT and RESTART checkpoint mid-run, sent from node2: the roll-back reads node-local parts.
                WaitForOutput(first, "progress iteration=", 1);
                LocalCluster.Append(LocalCluster.Second, notifications, "CHECKPOINT");
                WaitForCheckpoints(first, 1);
                LocalCluster.Append(LocalCluster.Second, notifications, "RESTART checkpoint");
                WaitForOutput(first, "rolled back to ckpt-00000001", 1);
                LocalCluster.Append(LocalCluster.First, notifications, "STOP");
                Assert.Equal(0, first.WaitForExit(TimeSpan.FromSeconds(150)));
                Assert.Contains("rolled back to ckpt-00000001 (iteration ", first.Stdout, StringComparison.Ordinal);
                Assert.Equal(4, Regex.Count(first.Stdout, "command applied seq=2 id=- iteration=\\d+ total=\\d+ text=\"RESTART checkpoint\"") + Regex.Count(first.Stdout, "\\[rank [123]\\] command applied seq=2 "));
            }

            var stopped = Notify.ReadResult(service);
            var last = Path.GetFileName(stopped["checkpoint"]);
            Assert.Equal(Path.Combine(sharedLevel, last), stopped["checkpoint_shared"]);

            // node2 lost its /scratch (a new allocation, a reboot): ranks 2-3 read the shared level.
            Wipe(LocalCluster.Second, scratch);
            using (var resumed = Start(service, scratch, LocalCluster.First, LocalCluster.Second, [.. options, "--resume"]))
            {
                WaitForOutput(resumed, "resumed from ", 1);
                LocalCluster.Append(LocalCluster.Second, notifications, "STOP");
                Assert.Equal(0, resumed.WaitForExit(TimeSpan.FromSeconds(150)));
                Assert.Contains($"resumed from {last} at iteration {stopped["iteration"]} (total {stopped["total_iterations"]})", resumed.Stdout, StringComparison.Ordinal);
                Assert.Equal(2, PartsFromShared(resumed.Stdout, last));
                Assert.Contains($"[rank 2] checkpoint {last}: this rank's part is read from the shared level", resumed.Stdout, StringComparison.Ordinal);
            }

            // Now ranks 2-3's parts are nowhere: node2 wiped again and the shared level gone. A start from zero
            // would lose the run; the resume is refused in one line naming the parts and where they were.
            var before = Notify.ReadResult(service);
            Wipe(LocalCluster.Second, scratch);
            Directory.Delete(sharedLevel, recursive: true);
            using var refused = Start(service, scratch, LocalCluster.First, LocalCluster.Second, [.. options, "--resume"]);
            Assert.Equal(2, refused.WaitForExit(TimeSpan.FromSeconds(150)));
            var newest = Path.GetFileName(before["checkpoint"]);
            var line = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("--resume:", StringComparison.Ordinal));
            Assert.Contains($"--resume: no checkpoint that every rank can read completely from {scratch} or {sharedLevel}: {newest} lacks the part(s) of rank(s) 2,3: written into {scratch} on {LocalCluster.Second}", line, StringComparison.Ordinal);
            Assert.DoesNotContain("starting from the initial state", refused.Stdout, StringComparison.Ordinal);
            Assert.Equal("2", Notify.ReadResult(service)["exit_code"]);
        }
        finally
        {
            foreach (var node in new[] { LocalCluster.First, LocalCluster.Second })
            {
                Wipe(node, scratch);
            }
        }
    }
}

/// <summary>Two-level checkpoints across nodes under Open MPI (ob1 over TCP).</summary>
[Collection(ClusterCollection.Name)]
public sealed class OpenMpiClusterCheckpointTests : ClusterCheckpointTests
{
    /// <inheritdoc />
    protected override MpiFamily Mpi => MpiFamily.OpenMpi;
}
