using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Mpi;

/// <summary>
/// The entry point for an MPI solver's <c>Main</c>: starts MPI, runs the job through
/// <see cref="ConvergenceJob"/> with an <see cref="MpiCoordinator"/>, and ends MPI. A rank that throws
/// (also on a background thread) prints the error, has one FAILED result written and aborts every rank
/// from its main thread (<see cref="ConvergenceJob"/> does all of it).
/// </summary>
public static class MpiJob
{
    /// <summary>The option that runs the job without MPI (single-process coordinator).</summary>
    public const string SingleProcessOption = "--single-process";

    /// <summary>Runs the job; returns the process exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, Func<JobSetup, IIterativeSolver> createSolver, RunOptions? defaults = null, string? solverHelp = null) =>
        RunWith(args, (a, c) => ConvergenceJob.Run(a, c, createSolver, defaults, solverHelp));

    /// <summary>
    /// Runs a job whose solver declares its options in <paramref name="solverOptions"/> (parsed, listed in
    /// <c>--help</c> and checked like the framework's own); returns the process exit code.
    /// </summary>
    /// <typeparam name="TOptions">The solver's options record; its parameterless constructor gives the defaults.</typeparam>
    /// <param name="args">The command line.</param>
    /// <param name="solverOptions">The solver's option table.</param>
    /// <param name="createSolver">Builds this rank's solver from the setup and its parsed options.</param>
    /// <param name="defaults">The solver's preferred framework defaults.</param>
    public static int Run<TOptions>(string[] args, OptionTable<TOptions> solverOptions, Func<JobSetup, TOptions, IIterativeSolver> createSolver, RunOptions? defaults = null)
        where TOptions : new() =>
        RunWith(args, (a, c) => ConvergenceJob.Run(a, c, solverOptions, createSolver, defaults));

    /// <summary>
    /// Starts MPI (or the single-process coordinator for <see cref="SingleProcessOption"/>), runs
    /// <paramref name="runJob"/> with the coordinator and ends MPI; also the rank program of Convergence.Testing's
    /// multi-rank harness.
    /// </summary>
    internal static int RunWith(string[] args, Func<string[], ICoordinator, int> runJob)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Contains(SingleProcessOption))
        {
            return runJob(args.Where(a => a != SingleProcessOption).ToArray(), new SingleProcessCoordinator());
        }

        // Before anything touches the console: see PlainConsole.
        PlainConsole.Apply();
        TimeSpan? finalizeTimeout;
        try
        {
            finalizeTimeout = FinalizeWatchdog.ReadTimeout();
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return ExitCodes.Usage;
        }

        MpiCoordinator coordinator;
        try
        {
            MpiRuntime.Initialize();
            coordinator = new MpiCoordinator();
        }
        catch (Exception ex) when (ex is MpiException or DllNotFoundException or EntryPointNotFoundException)
        {
            Console.Error.WriteLine($"convergence: cannot start MPI: {ex.Message} (or run with {SingleProcessOption})");
            return ExitCodes.Failed;
        }

        if (MpiRuntime.LaunchMismatch is { } mismatch)
        {
            // The launcher started N processes, each of which MPI sees alone: refuse in every copy before
            // the first iteration (no page, no result), and say it once.
            if (MpiRuntime.ReportsLaunchMismatch)
            {
                Console.Error.WriteLine(mismatch);
            }

            MpiRuntime.Shutdown();
            return ExitCodes.Usage;
        }

        var code = runJob(args, coordinator);

        // The result is durable by now: a finalize that never returns must not hold the allocation.
        MpiRuntime.Shutdown(finalizeTimeout, code);
        return code;
    }
}
