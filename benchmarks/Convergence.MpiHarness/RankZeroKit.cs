using Convergence.Commands;
using Convergence.Control;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Status;

namespace Convergence.MpiHarness;

/// <summary>
/// Rank 0's services as <see cref="JobRunner"/> starts them for a real job (notifications watcher, journal,
/// live status, status page writer), in a private temporary service folder; nothing on other ranks.
/// </summary>
internal sealed class RankZeroKit : IDisposable
{
    private readonly CommandIntake _intake;
    private readonly StatusReporter _reporter;

    private RankZeroKit(string folder, RunOptions options)
    {
        Folder = folder;
        NotificationsFile = options.NotificationsFile;
        var journal = new CommandJournal();
        var tail = new NotificationTail(options.NotificationsFile, options.MaxLineBytes, options.ReplayExistingNotifications);
        _intake = new CommandIntake(tail, new CommandParser(), journal, options.PollInterval, options.UseChangeNotifications, _ => { });
        var live = new LiveStatus("harness", "poisson", 2, options.Tolerance, [], journal);
        _reporter = new StatusReporter(live, options.StatusFile, options.StatusInterval, options.ProgressInterval, _ => { });
        Services = new RankZeroServices(_intake, journal, live);
    }

    public string Folder { get; }

    public string NotificationsFile { get; }

    public RankZeroServices Services { get; }

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
    public static RankZeroKit Start(RunOptions options) => new(options.ServiceDirectory, options);

    public void Dispose()
    {
        _intake.Dispose();
        _reporter.Dispose();
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
