using Convergence.Control;
using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;

namespace Convergence.MpiHarness;

/// <summary>
/// Rank 0's services exactly as a job starts them (<see cref="ServiceHost"/>: placeholder result,
/// notifications watcher, journal, live status, status page writer, job log), in a private temporary
/// service folder; nothing on other ranks. The log goes nowhere: the harness prints only its tables.
/// </summary>
internal sealed class RankZeroKit : IDisposable
{
    private readonly ServiceHost _host;
    private readonly JobLog _log;

    private RankZeroKit(RunOptions options)
    {
        Folder = options.ServiceDirectory;
        NotificationsFile = options.NotificationsFile;
        _log = new JobLog(writer: TextWriter.Null);
        _host = ServiceHost.Start(options, _log, "poisson-2d-jacobi", ranks: 2, description: "harness");

        // The status writer renders its first page as soon as it starts; that is the job's start-up, not a
        // per-iteration cost, and inside a run of a few tens of milliseconds it would count as several per
        // cent. Wait for it, so runs see the steady state (one page a second, measured on its own).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(options.StatusFile) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(1);
        }
    }

    public string Folder { get; }

    public string NotificationsFile { get; }

    public RankZeroServices Services => _host.Services;

    /// <summary>A fresh service folder under the temp folder.</summary>
    public static string NewFolder(string label)
    {
        var folder = Path.Combine(Path.GetTempPath(), "convergence-harness", $"{label}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>Starts the services on rank 0; returns null on every other rank.</summary>
    public static RankZeroKit? StartOnRankZero(ICoordinator world, RunOptions options) =>
        world.Rank == 0 ? Start(options) : null;

    /// <summary>Starts the services in this process, whatever its rank (no collective involved).</summary>
    public static RankZeroKit Start(RunOptions options) => new(options);

    /// <summary>Ends the job's services (outside any timed region) and removes the folder.</summary>
    public void Finish(RunResult result) => _host.Finish(result);

    public void Dispose()
    {
        _host.Dispose();
        _log.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; the figures matter more than the cleanup.
        }
    }
}
