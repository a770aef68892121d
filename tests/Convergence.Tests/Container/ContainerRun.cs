using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Container;

/// <summary>
/// Starts the image the way a site runs it under Charliecloud: <c>ch-run -b SERVICE:/service -b
/// SCRATCH:/scratch IMAGE -- /opt/convergence/bin/semwes-entrypoint.sh ARGS</c> (read-only image; the
/// runtime does not apply the image's %environment), started once or once per rank by the host's
/// <c>mpirun</c>, as root or as <c>nobody</c> through <c>setpriv</c>.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class ContainerRun
{
    /// <summary>The entry point inside the image.</summary>
    public const string EntryPoint = "/opt/convergence/bin/semwes-entrypoint.sh";

    private const string Nobody = "65534";

    /// <summary>A fresh service folder and scratch folder the <paramref name="user"/> can write.</summary>
    public static (string Service, string Scratch) Folders(ImageUser user, string label)
    {
        var root = Repo.NewTempFolder(label);
        var service = Path.Combine(root, "service");
        var scratch = Path.Combine(root, "scratch");
        Directory.CreateDirectory(service);
        Directory.CreateDirectory(scratch);
        if (user == ImageUser.Unprivileged)
        {
            using var chown = RunningProcess.Start("chown", [$"{Nobody}:{Nobody}", service, scratch]);
            Assert.True(chown.WaitForExit(TimeSpan.FromSeconds(10)) == 0, chown.Output);
        }

        return (service, scratch);
    }

    /// <summary>
    /// Starts the entry point in <paramref name="image"/>: once, or with <paramref name="hostLauncher"/> as
    /// <c>mpirun.X -np 2 ch-run …</c> (one container per rank). <paramref name="service"/> null binds nothing at /service.
    /// </summary>
    public static RunningProcess Start(ImageUser user, string image, string? service, string scratch, IEnumerable<string> arguments,
        MpiFamily? hostLauncher = null, IDictionary<string, string?>? environment = null)
    {
        var command = new List<string>();
        if (user == ImageUser.Unprivileged)
        {
            command.AddRange(["setpriv", $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--"]);
        }

        if (hostLauncher is { } mpi)
        {
            command.AddRange(RunningProcess.MpiLauncher(mpi, 2));
        }

        command.Add("ch-run");
        if (service is not null)
        {
            command.AddRange(["-b", $"{service}:/service"]);
        }

        command.AddRange(["-b", $"{scratch}:/scratch", image, "--", EntryPoint, .. arguments]);

        // ch-run needs USER; Open MPI refuses root unless told twice (host launcher and image launcher alike).
        var env = new Dictionary<string, string?>(RunningProcess.MpiEnvironment(MpiFamily.OpenMpi))
        {
            ["USER"] = user == ImageUser.Root ? "root" : "nobody",
        };
        if (user == ImageUser.Unprivileged)
        {
            env["HOME"] = "/nonexistent";
            env.Remove("OMPI_ALLOW_RUN_AS_ROOT");
            env.Remove("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM");
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }

        return RunningProcess.Start(command[0], command.Skip(1), env);
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the container's entry point: the process itself for a directory
    /// image (ch-run execs the command), its child for a SquashFS image (ch-run stays the parent and
    /// serves the image through FUSE; a TERM to it ends that and the container with it, see docs/container.md).
    /// </summary>
    public static void Signal(RunningProcess process, string signal)
    {
        var pid = process.Id.ToString(CultureInfo.InvariantCulture);
        if (File.ReadAllText($"/proc/{pid}/comm").Trim() == "ch-run")
        {
            pid = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Single();
        }

        using var kill = RunningProcess.Start("kill", [$"-{signal}", pid]);
        Assert.Equal(0, kill.WaitForExit(TimeSpan.FromSeconds(10)));
    }

    /// <summary>Waits until the job's status.json satisfies <paramref name="condition"/>; fails if the job ends first or after 60 s.</summary>
    public static JsonElement WaitForStatus(string service, RunningProcess job, Func<JsonElement, bool> condition, string what) =>
        StatusJsonWait.Until(service, job, condition, what, TimeSpan.FromSeconds(60));

    /// <summary>True when the journal in <paramref name="status"/> shows the message with <paramref name="clientId"/> applied.</summary>
    public static bool Applied(JsonElement status, string clientId) =>
        status.TryGetProperty("journal", out var journal)
        && journal.EnumerateArray().Any(e => e.TryGetProperty("clientId", out var id) && id.GetString() == clientId
            && e.GetProperty("state").GetString() == "Applied");

    /// <summary>Waits until result.txt holds an outcome other than the placeholder (the entry point's watcher may write it just after the launcher exits).</summary>
    public static IReadOnlyDictionary<string, string> WaitForResult(string service, string output)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var result = Notify.ReadResult(service);
            if (result.TryGetValue("outcome", out var outcome) && outcome != "UNSET")
            {
                return result;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"result.txt still without an outcome 20 s after the job ended: {string.Join(", ", result.Select(p => $"{p.Key}={p.Value}"))}\n{output}");
            Thread.Sleep(50);
        }
    }

    /// <summary>Asserts that result.txt can be read by other users and written only by its owner, like the solver's files.</summary>
    public static void AssertReadableByOthers(string service)
    {
        var mode = File.GetUnixFileMode(Path.Combine(service, "result.txt"));
        Assert.True((mode & UnixFileMode.OtherRead) != 0 && (mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) == 0, $"result.txt has mode {mode}");
    }
}
