using Convergence.Checkpoints;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Journal;
using Convergence.Options;
using Convergence.Output;
using Convergence.Signals;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>
/// Runs a solver in this process through the framework's real control loop and rank 0's real services (the
/// notifications watcher, the journal, the status page, checkpoints), with a script of commands sent at
/// given iterations, the way a test host runs a web app in-process.
/// </summary>
/// <remarks>
/// A scripted line is appended to the service folder's <c>notifications.txt</c> once its iteration is done,
/// and the harness waits until the watcher has taken it, so it is applied at that iteration's boundary
/// (several lines for one iteration: one per iteration, in order). The sync runs at every iteration, so
/// whatever the script does happens at the same iteration in every run. Single process; <see cref="MpiHarness"/>
/// runs the same on several ranks under <c>mpirun</c>, for halo-exchange tests.
/// </remarks>
public static class SolverHarness
{
    /// <summary>How long the harness waits for the watcher to take a scripted line before it gives up.</summary>
    public static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <paramref name="solver"/> until it converges, a scripted command ends it, or the iteration limit.</summary>
    /// <param name="solver">A new solver (the harness calls <c>Initialize</c>); checkpoints work when it implements <see cref="ICheckpointable"/>.</param>
    /// <param name="script">
    /// Lines to send, each after the given total iteration (1 or more), e.g. <c>(10, "CHECKPOINT")</c>,
    /// <c>(20, "AMBIENT 2")</c>, <c>(30, "RESTART checkpoint")</c>; none for a run without commands.
    /// </param>
    /// <param name="options">The run's options (<see cref="TestRunOptions.Create"/> when null); the sync is set to every iteration and signals to none.</param>
    /// <returns>The result, the journal, the residual of every iteration and the log.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A scripted iteration is below 1.</exception>
    /// <exception cref="TimeoutException">The watcher did not take a scripted line within <see cref="LineTimeout"/>.</exception>
    public static HarnessRun Run(IIterativeSolver solver, IEnumerable<(long Iteration, string Command)>? script = null, RunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(solver);
        var steps = (script ?? []).OrderBy(s => s.Iteration).ToList();
        foreach (var (iteration, _) in steps)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(iteration, 1, nameof(script));
        }

        options = Scripted(options ?? TestRunOptions.Create());
        using var writer = new StringWriter();
        var residuals = new List<(long, double)>();
        RunResult result;
        IReadOnlyList<JournalEntry> journal;
        using (var log = new JobLog(string.Empty, TextWriter.Synchronized(writer)))
        {
            (result, journal) = Drive(solver, steps, options, new SingleProcessCoordinator(), log, residuals);
        }

        return new HarnessRun(result, journal, residuals, writer.ToString(), options.ServiceDirectory);
    }

    /// <summary>The options the harness runs with: a sync at every iteration, no signals, no Slurm, no replay of old lines.</summary>
    internal static RunOptions Scripted(RunOptions options) =>
        options with { Sync = SyncPolicy.Every(1), Signals = SignalMap.None, SlurmEndTimeEvery = null, ReplayExistingNotifications = false };

    /// <summary>
    /// Runs the solver on this rank through the real loop: rank 0 starts the services (watcher, journal, status
    /// page) and sends the script; checkpoints when the solver has them. Collective on several ranks.
    /// </summary>
    /// <returns>This rank's result, and rank 0's journal (empty on the other ranks).</returns>
    internal static (RunResult Result, IReadOnlyList<JournalEntry> Journal) Drive(
        IIterativeSolver solver, IReadOnlyList<(long Iteration, string Command)> steps, RunOptions options, ICoordinator coordinator, JobLog log, List<(long, double)> residuals)
    {
        var isRoot = coordinator.Rank == 0;
        using var host = isRoot ? ServiceHost.Start(options, log, solver.Name, solver.Commands, coordinator.Size, coordinator.Size == 1 ? "single process (test harness)" : $"{coordinator.Description} (test harness)") : null;

        // As in a job: nobody starts (and may write a checkpoint or fail) before rank 0 has its services.
        coordinator.Barrier();
        CheckpointManager? checkpoints = null;
        if (solver is ICheckpointable checkpointable)
        {
            checkpoints = new CheckpointManager(new CheckpointStore(options.CheckpointFolder), checkpointable, coordinator, options.JobName ?? solver.Name, solver.Name, options.CheckpointKeep, log.Write, host?.Live)
            {
                ToleranceGivenBy = options.GivenBy("--tolerance"),
            };
            checkpoints.Initialize();
        }

        var scripted = new ScriptedSolver(solver, steps, options.NotificationsFile, host, coordinator, residuals);
        var result = new ControlLoop(scripted, coordinator, options, host?.Services, null, checkpoints, log.Write).Run();
        checkpoints?.WaitForPruning();
        host?.Finish(result, checkpoints is null ? solver.ResultFields : solver.ResultFields.Concat(checkpoints.ResultFields()));
        return (result, host?.Journal.Snapshot(CommandJournal.Capacity) ?? []);
    }
}
