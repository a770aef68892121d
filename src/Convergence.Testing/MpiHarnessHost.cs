using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Journal;
using Convergence.Mpi;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>
/// The program every rank of an <see cref="MpiHarness"/> job runs: the test assembly's dependencies (its
/// <c>.deps.json</c>) with this assembly as the entry point. Starts MPI as a solver's own <c>Main</c> does
/// (<see cref="MpiJob"/>), builds the solver with the test's factory and drives it through the real control loop
/// with the MPI coordinator, rank 0 sending the script through the notifications file as
/// <see cref="SolverHarness"/> does. A rank that fails prints why and aborts every rank.
/// </summary>
internal static class MpiHarnessHost
{
    /// <summary>Runs one rank of the job described in the file <c>args[0]</c>.</summary>
    /// <returns>0 when the run ended (any outcome: the test judges it); 2 for a bad command line.</returns>
    internal static int Main(string[] args)
    {
        if (args.Length != 1 || !File.Exists(args[0]))
        {
            Console.Error.WriteLine($"convergence-testing: this is the rank program of Convergence.Testing's MpiHarness, started by MpiHarness.RunAsync with its job file (got: {string.Join(' ', args)})");
            return ExitCodes.Usage;
        }

        var job = HarnessFiles.Read<HarnessJob>(args[0]);
        return MpiJob.RunWith([], (_, coordinator) => RunRank(job, coordinator));
    }

    private static int RunRank(HarnessJob job, ICoordinator coordinator)
    {
        var rank = coordinator.Rank;
        using var writer = new StringWriter();
        try
        {
            var options = SolverHarness.Scripted(RunOptions.Parse(job.Arguments, out var rest, TestRunOptions.Create(job.ServiceDirectory)));
            var factoryType = Type.GetType(job.Factory, throwOnError: true)!;
            var factory = (IRankSolverFactory)Activator.CreateInstance(factoryType, nonPublic: true)!;
            var solver = factory.Create(new JobSetup(options, rest, rank, coordinator.Size));
            var residuals = new List<(long, double)>();
            var steps = job.Script.Select(s => (s.Iteration, s.Command)).ToList();
            RunResult result;
            IReadOnlyList<JournalEntry> journal;
            using (var log = new JobLog(coordinator.Size > 1 && rank != 0 ? $"[rank {rank}] " : string.Empty, TextWriter.Synchronized(writer)))
            {
                (result, journal) = SolverHarness.Drive(solver, steps, options, coordinator, log, residuals);
            }

            HarnessFiles.Write(
                HarnessFiles.ReportPath(job.ReportDirectory, rank),
                new RankReport(
                    rank,
                    result,
                    [.. journal],
                    residuals.Select(r => r.Item1).ToArray(),
                    residuals.Select(r => r.Item2).ToArray(),
                    solver.ResultFields.Select(f => new[] { f.Key, f.Value }).ToArray(),
                    writer.ToString()));
            return ExitCodes.Success;
        }
        catch (Exception ex)
        {
            // As a job's entry point does: say which rank failed and why, then bring every rank down at once
            // (a rank left waiting in a collective would hang the test until its timeout).
            var what = ex is OptionsException ? $"bad arguments: {ex.Message}" : ex.ToString();
            Console.Error.WriteLine($"convergence-testing: rank {rank} failed: {what}");
            Console.Error.WriteLine($"convergence-testing: rank {rank}'s log until then:\n{writer}");
            Console.Error.Flush();
            coordinator.Abort(ExitCodes.Failed);
            return ExitCodes.Failed;
        }
    }
}
