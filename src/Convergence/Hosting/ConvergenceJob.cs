using System.Globalization;
using Convergence.Coordination;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;

namespace Convergence.Hosting;

/// <summary>
/// The entry point a solver's <c>Main</c> calls: resolves options, builds the solver, runs the job and
/// turns every way it can end into an exit code. If any rank fails (on any thread), it prints the error,
/// records one FAILED result (see <see cref="FailureRoute"/>) and aborts the whole job through the
/// coordinator from the main thread: an allocation must never hang on a dead peer.
/// </summary>
public static class ConvergenceJob
{
    /// <summary>Runs a job with <paramref name="coordinator"/>; returns the process exit code (see <see cref="ExitCodes"/>).</summary>
    /// <param name="args">The command line: framework options (see <c>--help</c>) and the solver's own.</param>
    /// <param name="coordinator">Single process or MPI.</param>
    /// <param name="createSolver">Builds this rank's solver; may throw <see cref="OptionsException"/> for bad solver arguments.</param>
    /// <param name="defaults">The solver's preferred defaults (e.g. its tolerance), overridden by environment and command line.</param>
    /// <param name="solverHelp">The solver's own options, for <c>--help</c>.</param>
    public static int Run(string[] args, ICoordinator coordinator, Func<JobSetup, IIterativeSolver> createSolver, RunOptions? defaults = null, string? solverHelp = null)
    {
        ArgumentNullException.ThrowIfNull(createSolver);
        return RunJob(args, coordinator, (setup, fingerprint) =>
        {
            // The solver parses its arguments itself: they count as given, in order.
            fingerprint.Add("solver arguments", setup.SolverArguments);
            return createSolver(setup);
        }, defaults, null, solverHelp);
    }

    /// <summary>
    /// Runs a job whose solver declares its options in <paramref name="solverOptions"/>: the framework parses
    /// them with the same rules as its own (command line, then environment, then the record's defaults),
    /// lists them in the same <c>--help</c> and reports a bad or unknown one in the same way (exit code 2).
    /// </summary>
    /// <typeparam name="TOptions">The solver's options record; its parameterless constructor gives the defaults.</typeparam>
    /// <param name="args">The command line: the framework's options and the solver's.</param>
    /// <param name="coordinator">Single process or MPI.</param>
    /// <param name="solverOptions">The solver's option table.</param>
    /// <param name="createSolver">Builds this rank's solver from the setup and the parsed solver options; may throw <see cref="OptionsException"/>.</param>
    /// <param name="defaults">The solver's preferred framework defaults (e.g. its tolerance), overridden by environment and command line.</param>
    public static int Run<TOptions>(string[] args, ICoordinator coordinator, OptionTable<TOptions> solverOptions, Func<JobSetup, TOptions, IIterativeSolver> createSolver, RunOptions? defaults = null)
        where TOptions : new()
    {
        ArgumentNullException.ThrowIfNull(solverOptions);
        ArgumentNullException.ThrowIfNull(createSolver);
        return RunJob(args, coordinator, (setup, fingerprint) => createSolver(setup with { SolverArguments = [] }, solverOptions.ParseAll(setup.SolverArguments, new TOptions(), null, fingerprint, RunOptionsParser.Names)), defaults, solverOptions, null);
    }

    // createSolver builds the solver and adds the solver's options, as resolved, to the fingerprint the ranks compare.
    private static int RunJob(string[] args, ICoordinator coordinator, Func<JobSetup, OptionFingerprint, IIterativeSolver> createSolver, RunOptions? defaults, IOptionTable? solverOptions, string? solverHelp)
    {
        var isRoot = coordinator.Rank == 0;
        var log = new JobLog(coordinator.Size > 1 && !isRoot ? $"[rank {coordinator.Rank}] " : string.Empty);

        // An exception no thread catches: recorded as FAILED, then the main thread aborts at its next sync
        // (MPI is funneled: no MPI call from the failing thread); see FailureRoute for the last resort.
        var failures = new FailureRoute(coordinator, log);
        UnhandledExceptionEventHandler onUnhandled = (_, e) => failures.OnUnhandled(e.ExceptionObject);
        AppDomain.CurrentDomain.UnhandledException += onUnhandled;
        try
        {
            if (RunOptionsParser.WantsHelp(args))
            {
                if (isRoot)
                {
                    RunOptionsParser.PrintHelp(solverOptions, solverHelp);
                }

                return ExitCodes.Success;
            }

            IIterativeSolver? solver = null;
            RunOptions? options = null;
            OptionFingerprint? fingerprint = null;
            string? error = null;
            try
            {
                options = RunOptions.Parse(args, out var rest, defaults);
                fingerprint = options.Fingerprint();
                solver = createSolver(new JobSetup(options, rest, coordinator.Rank, coordinator.Size), fingerprint);
            }
            catch (OptionsException ex)
            {
                error = ex.SaysWhatToDo ? ex.Message : $"{ex.Message} (see --help)";
            }

            // Every rank must agree before the first real collective, or a rank that refused its
            // options would leave the others waiting for ever.
            if (coordinator.AllreduceSum(error is null ? 0 : 1) > 0)
            {
                // Say it once: rank 0 if it saw the error, otherwise each rank that did.
                var rootSawIt = coordinator.AllreduceSum(isRoot && error is not null ? 1 : 0) > 0;
                if (error is not null && (isRoot || !rootSawIt))
                {
                    Console.Error.WriteLine($"convergence: {(isRoot ? string.Empty : $"rank {coordinator.Rank}: ")}{error}");
                }

                return ExitCodes.Usage;
            }

            // Ranks on different nodes can see different environments (or be given other arguments); a job
            // whose ranks disagree on any option, the solver's included, would fall out of lock-step, so
            // refuse it up front. The values are compared, not the log line that shows them.
            var value = fingerprint!.ToDouble();
            if (coordinator.AllreduceMax(value) != -coordinator.AllreduceMax(-value))
            {
                if (isRoot)
                {
                    Console.Error.WriteLine($"convergence: the ranks resolved different options (different CONVERGENCE_* or solver environment on different nodes, or other arguments?); rank 0 has: {options!.Describe()} (full precision: tolerance={options.Tolerance.ToString("R", CultureInfo.InvariantCulture)})");
                }

                return ExitCodes.Usage;
            }

            var runner = new JobRunner(coordinator, options!, solver!, log) { Failures = failures };
            var result = runner.Run();
            if (!isRoot)
            {
                // One line per rank at the end shows in the log that every rank stopped at the same iteration.
                log.WriteAlways($"end outcome={ResultFile.Word(result.Outcome)} iteration={result.Iteration} total={result.TotalIterations}");
            }

            return result.ExitCode;
        }
        catch (OptionsException ex)
        {
            // Raised by every rank alike from collectively agreed data (e.g. --resume with a checkpoint
            // of another rank count): a usage error in one line, no abort needed.
            log.Flush();
            if (isRoot)
            {
                Console.Error.WriteLine($"convergence: {ex.Message}");
            }

            return ExitCodes.Usage;
        }
        catch (Exception ex)
        {
            log.Flush();
            Console.Error.WriteLine($"convergence: rank {coordinator.Rank} failed: {ex}");
            Console.Error.Flush();
            coordinator.Abort(ExitCodes.Failed);
            return ExitCodes.Failed;
        }
        finally
        {
            AppDomain.CurrentDomain.UnhandledException -= onUnhandled;
            log.Dispose();
        }
    }
}
