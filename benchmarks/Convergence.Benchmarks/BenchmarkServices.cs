using Convergence.Commands;
using Convergence.Control;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Status;

namespace Convergence.Benchmarks;

/// <summary>
/// Rank 0's services as a real job has them: a watcher thread following a notifications file that stays
/// empty, a journal and the live status. Nothing is ever pending, which is the state benchmarks measure.
/// </summary>
internal sealed class BenchmarkServices : IDisposable
{
    private readonly string _folder;

    public BenchmarkServices(string label)
    {
        _folder = Path.Combine(Path.GetTempPath(), "convergence-bench", $"{label}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
        var journal = new CommandJournal();
        var tail = new NotificationTail(Path.Combine(_folder, "notifications.txt"));
        Intake = new CommandIntake(tail, new CommandParser(), journal, TimeSpan.FromMilliseconds(250), useChangeNotifications: false, _ => { });
        Services = new RankZeroServices(Intake, journal, new LiveStatus("bench", "trivial", 1, 1e-12, [], journal));
    }

    public CommandIntake Intake { get; }

    public RankZeroServices Services { get; }

    /// <summary>A path in the benchmark's folder that does not exist (the platform example's abort marker).</summary>
    public string MarkerPath => Path.Combine(_folder, "abort.marker");

    public void Dispose()
    {
        Intake.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
