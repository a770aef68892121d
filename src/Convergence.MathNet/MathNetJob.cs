using Convergence.Hosting;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using MathNet.Numerics.LinearAlgebra;

namespace Convergence.MathNet;

/// <summary>
/// The entry point a MathNet job's <c>Main</c> calls: resolves the framework's options, builds the problem,
/// runs the steered solve and turns every way it can end into an exit code (see <see cref="ExitCodes"/>).
/// </summary>
public static class MathNetJob
{
    /// <summary>Runs a steerable MathNet solve in this process; returns the exit code.</summary>
    /// <param name="args">The command line: framework options (see <c>--help</c>) and the job's own.</param>
    /// <param name="createProblem">
    /// Builds the problem from the options and the arguments the framework did not use; throws
    /// <see cref="OptionsException"/> for a bad argument (also for one it does not know).
    /// </param>
    /// <param name="defaults">The job's preferred defaults, overridden by environment and command line.</param>
    /// <param name="solverHelp">The job's own options, for <c>--help</c>.</param>
    public static int Run(string[] args, Func<JobSetup, MathNetProblem> createProblem, RunOptions? defaults = null, string? solverHelp = null) =>
        Run(args, createProblem, defaults, null, solverHelp);

    /// <summary>
    /// Runs a steerable MathNet solve whose own options are declared in <paramref name="problemOptions"/>
    /// (parsed, listed in <c>--help</c> and checked like the framework's own); returns the exit code.
    /// </summary>
    /// <typeparam name="TOptions">The job's options record; its parameterless constructor gives the defaults.</typeparam>
    /// <param name="args">The command line.</param>
    /// <param name="problemOptions">The job's option table.</param>
    /// <param name="createProblem">Builds the problem from the setup and the parsed options; may throw <see cref="OptionsException"/>.</param>
    /// <param name="defaults">The job's preferred framework defaults.</param>
    public static int Run<TOptions>(string[] args, OptionTable<TOptions> problemOptions, Func<JobSetup, TOptions, MathNetProblem> createProblem, RunOptions? defaults = null)
        where TOptions : new()
    {
        ArgumentNullException.ThrowIfNull(problemOptions);
        ArgumentNullException.ThrowIfNull(createProblem);
        return Run(args, setup => createProblem(setup with { SolverArguments = [] }, problemOptions.ParseAll(setup.SolverArguments, new TOptions(), null, null, RunOptionsParser.Names)), defaults, problemOptions, null);
    }

    private static int Run(string[] args, Func<JobSetup, MathNetProblem> createProblem, RunOptions? defaults, IOptionTable? problemOptions, string? solverHelp)
    {
        if (RunOptionsParser.WantsHelp(args))
        {
            RunOptionsParser.PrintHelp(problemOptions, solverHelp);
            return ExitCodes.Success;
        }

        using var log = new JobLog();
        try
        {
            RunOptions options;
            MathNetProblem problem;
            try
            {
                options = RunOptions.Parse(args, out var rest, defaults);
                problem = createProblem(new JobSetup(options, rest, 0, 1));
            }
            catch (OptionsException ex)
            {
                Console.Error.WriteLine($"convergence: {ex.Message}{(ex.SaysWhatToDo ? string.Empty : " (see --help)")}");
                return ExitCodes.Usage;
            }

            var solver = new SteerableSolver(problem.Solver, options, log)
            {
                Name = problem.Name,
                Commands = problem.Commands,
                ApplyCommand = problem.ApplyCommand,
                ExtraCriteria = problem.ExtraCriteria,
                ResultFields = problem.OnSolved,
            };
            var x = problem.InitialGuess ?? Vector<double>.Build.Dense(problem.Rhs.Count);
            return solver.Solve(problem.Matrix, problem.Rhs, x, problem.Preconditioner).Run.ExitCode;
        }
        catch (OptionsException ex)
        {
            // An option this kind of job cannot honour (the solver refuses it before anything starts).
            Console.Error.WriteLine($"convergence: {ex.Message} (see --help)");
            return ExitCodes.Usage;
        }
        catch (Exception ex)
        {
            log.Flush();
            Console.Error.WriteLine($"convergence: failed: {ex}");
            return ExitCodes.Failed;
        }
    }
}
