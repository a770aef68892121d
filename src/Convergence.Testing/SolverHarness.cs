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
/// whatever the script does happens at the same iteration in every run. Single process; run halo-exchange
/// tests under <c>mpirun</c> with the job's own entry point.
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

        options = (options ?? TestRunOptions.Create()) with { Sync = SyncPolicy.Every(1), Signals = SignalMap.None, SlurmEndTimeEvery = null, ReplayExistingNotifications = false };
        using var writer = new StringWriter();
        var residuals = new List<(long, double)>();
        RunResult result;
        IReadOnlyList<JournalEntry> journal;
        using (var log = new JobLog(string.Empty, TextWriter.Synchronized(writer)))
        {
            var coordinator = new SingleProcessCoordinator();
            using var host = ServiceHost.Start(options, log, solver.Name, solver.Commands, 1, "single process (test harness)");
            CheckpointManager? checkpoints = null;
            if (solver is ICheckpointable checkpointable)
            {
                checkpoints = new CheckpointManager(new CheckpointStore(options.CheckpointFolder), checkpointable, coordinator, host.JobName, solver.Name, options.CheckpointKeep, log.Write, host.Live)
                {
                    ToleranceGivenBy = options.GivenBy("--tolerance"),
                };
                checkpoints.Initialize();
            }

            var scripted = new ScriptedSolver(solver, steps, options.NotificationsFile, host, residuals);
            result = new ControlLoop(scripted, coordinator, options, host.Services, null, checkpoints).Run();
            checkpoints?.WaitForPruning();
            host.Finish(result, checkpoints is null ? solver.ResultFields : solver.ResultFields.Concat(checkpoints.ResultFields()));
            journal = host.Journal.Snapshot(CommandJournal.Capacity);
        }

        return new HarnessRun(result, journal, residuals, writer.ToString(), options.ServiceDirectory);
    }
}
