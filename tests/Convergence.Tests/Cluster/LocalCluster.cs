using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cluster;

/// <summary>
/// The namespace cluster of <c>jobscripts/local-cluster.sh</c>, two nodes, started once for the cluster
/// tests and stopped after them (left running when it already ran before, e.g. a developer's). Nothing is
/// faked: each node has its own network, hostname, /scratch and /dev/shm, and MPI reaches the second node
/// through the script's ssh stand-in. A machine where it cannot start fails the tests.
/// </summary>
public sealed class LocalCluster : IDisposable
{
    /// <summary>The node the launcher runs on (holds ranks 0 and 1).</summary>
    public const string First = "node1";

    /// <summary>The other node (holds ranks 2 and 3).</summary>
    public const string Second = "node2";

    private readonly bool _startedHere;

    /// <summary>Starts the cluster with 2 nodes unless one already runs.</summary>
    public LocalCluster()
    {
        using var status = RunningProcess.Start(Script, ["status"]);
        if (status.WaitForExit(TimeSpan.FromSeconds(30)) == 0)
        {
            if (!status.Stdout.Contains(Second + " ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"a local cluster without {Second} runs already; stop it (jobscripts/local-cluster.sh stop)\n{status.Output}");
            }

            return;
        }

        using var start = RunningProcess.Start(Script, ["start", "--nodes", "2"]);
        var code = start.WaitForExit(TimeSpan.FromMinutes(2));
        if (code != 0)
        {
            throw new InvalidOperationException($"jobscripts/local-cluster.sh start failed ({code}): the cluster tests need root, iproute2 and util-linux\n{start.Output}");
        }

        _startedHere = true;
    }

    /// <summary>The script.</summary>
    public static string Script => Path.Combine(Repo.Root, "jobscripts", "local-cluster.sh");

    /// <summary>
    /// Starts <c>dotnet <paramref name="dll"/> args…</c> on 4 ranks, 2 on each node, with the launcher of
    /// <paramref name="mpi"/> running on the first node (as on a cluster's first allocated node).
    /// </summary>
    public static RunningProcess MpiRun(MpiFamily mpi, string dll, IEnumerable<string> arguments) =>
        MpiRun(mpi, dll, arguments, First, Second);

    /// <summary>
    /// Like <see cref="MpiRun(MpiFamily, string, IEnumerable{string})"/> with ranks 0-1 on <paramref name="firstRanks"/>
    /// and 2-3 on <paramref name="lastRanks"/> (swapped: rank 0 on node2); the launcher runs on <paramref name="firstRanks"/>.
    /// </summary>
    public static RunningProcess MpiRun(MpiFamily mpi, string dll, IEnumerable<string> arguments, string firstRanks, string lastRanks)
    {
        var hosts = $"{firstRanks}:2,{lastRanks}:2";
        string[] launcher = mpi == MpiFamily.OpenMpi
            ? ["mpirun.openmpi", "--host", hosts, "-np", "4"]
            : ["mpirun.mpich", "-hosts", hosts, "-np", "4"];
        return RunningProcess.Start(Script, ["run", firstRanks, .. launcher, "dotnet", dll, .. arguments], new Dictionary<string, string?>(RunningProcess.MpiEnvironment(mpi)));
    }

    /// <summary>Runs <paramref name="command"/> inside <paramref name="node"/> to its end; throws with its output when it fails.</summary>
    public static string Run(string node, params string[] command)
    {
        using var p = RunningProcess.Start(Script, ["run", node, .. command]);
        var code = p.WaitForExit(TimeSpan.FromSeconds(30));
        return code == 0 ? p.Stdout : throw new InvalidOperationException($"'{string.Join(' ', command)}' on {node} failed ({code})\n{p.Output}");
    }

    /// <summary>Runs a Slurm client command of the cluster's own Slurm (sbatch, squeue, scontrol, scancel) on the first node, like on a login node.</summary>
    public static string Slurm(string command, IEnumerable<string> args, IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        using var p = RunningProcess.Start(Script, ["run", First, command, .. args], environment, workingDirectory);
        var code = p.WaitForExit(TimeSpan.FromSeconds(60));
        return code == 0 ? p.Stdout : throw new InvalidOperationException($"{command} {string.Join(' ', args)} on {First} failed ({code})\n{p.Output}");
    }

    /// <summary>One field of <c>scontrol show job -o</c> in the cluster's Slurm; empty once it has forgotten the job.</summary>
    public static string JobField(string jobId, string field)
    {
        using var p = RunningProcess.Start(Script, ["run", First, "scontrol", "show", "job", "-o", jobId]);
        if (p.WaitForExit(TimeSpan.FromSeconds(30)) != 0)
        {
            return string.Empty;
        }

        var token = p.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(t => t.StartsWith(field + "=", StringComparison.Ordinal));
        return token is null ? string.Empty : token[(field.Length + 1)..];
    }

    /// <summary>Appends <paramref name="message"/> to a notifications file from a shell inside <paramref name="node"/> (one append, as the service does).</summary>
    public static void Append(string node, string notificationsFile, string message) =>
        Run(node, "/bin/sh", "-c", "printf '%s\\n' \"$1\" >> \"$2\"", "sh", message, notificationsFile);

    /// <summary>
    /// Loses <paramref name="node"/> as a crashed node would for the job: SIGKILL to every process inside it (found
    /// by its network namespace) but the cluster's holder and daemons (its slurmd), which later tests still need.
    /// Returns how many were killed.
    /// </summary>
    public static int KillNode(string node)
    {
        var holder = File.ReadAllText($"/run/convergence-cluster/{node}.pid").Trim();
        using var list = RunningProcess.Start("ip", ["netns", "pids", $"cvg-{node}"]);
        if (list.WaitForExit(TimeSpan.FromSeconds(30)) != 0)
        {
            throw new InvalidOperationException($"cannot list the processes of {node}\n{list.Output}");
        }

        var killed = 0;
        foreach (var pid in list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(p => p != holder && !IsClusterDaemon(p)))
        {
            using var kill = RunningProcess.Start("kill", ["-KILL", pid]);
            if (kill.WaitForExit(TimeSpan.FromSeconds(30)) == 0)
            {
                killed++;
            }
        }

        return killed;
    }

    /// <summary>True for the cluster's own daemons (cvg-slurmd, cvg-munged…), which later tests still need.</summary>
    private static bool IsClusterDaemon(string pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").StartsWith("cvg-", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_startedHere)
        {
            return;
        }

        using var stop = RunningProcess.Start(Script, ["stop"]);
        stop.WaitForExit(TimeSpan.FromMinutes(1));
    }
}
