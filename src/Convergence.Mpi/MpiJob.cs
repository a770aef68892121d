using Convergence.Control;
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
    public static int Run(string[] args, Func<JobSetup, IIterativeSolver> createSolver, RunOptions? defaults = null, string? solverHelp = null)
    {
        if (args.Contains(SingleProcessOption))
        {
            return ConvergenceJob.Run(args.Where(a => a != SingleProcessOption).ToArray(), new SingleProcessCoordinator(), createSolver, defaults, solverHelp);
        }

        // Before anything touches the console: see PlainConsole.
        PlainConsole.Apply();
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

        var code = ConvergenceJob.Run(args, coordinator, createSolver, defaults, solverHelp);
        MpiRuntime.Shutdown();
        return code;
    }
}
