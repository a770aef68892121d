using BenchmarkDotNet.Running;

namespace Convergence.Benchmarks;

/// <summary>
/// Entry point: every BenchmarkDotNet switch works (<c>--filter</c>, <c>--job short</c>, <c>--job Dry</c>, <c>--inProcess</c>).
/// </summary>
public static class Program
{
    /// <summary>Runs the selected benchmarks; returns 1 when any of them failed to build or run, so CI notices.</summary>
    public static int Main(string[] args)
    {
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        var failed = false;
        foreach (var summary in summaries)
        {
            // A summary with a validation error, a build failure or a benchmark that threw has reports
            // without results; BenchmarkDotNet itself still exits 0 in these cases.
            if (summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success || !r.BuildResult.IsBuildSuccess))
            {
                failed = true;
                Console.Error.WriteLine($"benchmark failure in {summary.Title}");
            }
        }

        return failed ? 1 : 0;
    }
}
