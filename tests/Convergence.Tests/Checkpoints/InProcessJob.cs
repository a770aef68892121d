using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

/// <summary>Runs a <see cref="JobRunner"/> in this process with a single-process coordinator and a captured log.</summary>
internal static class InProcessJob
{
    public static (RunResult Result, string Log) Run(IIterativeSolver solver, RunOptions options)
    {
        using var writer = new StringWriter();
        RunResult result;
        using (var log = new JobLog(string.Empty, TextWriter.Synchronized(writer)))
        {
            // No signal handlers in the shared test host: signals are tested on real mpirun jobs.
            result = new JobRunner(new SingleProcessCoordinator(), options with { Signals = Convergence.Signals.SignalMap.None }, solver, log).Run();
        }

        return (result, writer.ToString());
    }

    public static RunOptions Options(string label, params string[] args)
    {
        var service = Repo.NewTempFolder(label);
        return RunOptions.Parse(
            ["--service", service, "--change-notifications", "off", "--status-ms", "200", "--sync", "every:1", .. args],
            out _,
            environment: _ => null);
    }
}
