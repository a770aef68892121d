using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Benchmarks;

/// <summary>
/// Runs every BenchmarkDotNet suite and the MPI harness in their shortest modes, so that they keep
/// compiling and running. The figures they print here mean nothing: speed is proven by the full runs
/// recorded in benchmarks/RESULTS.md, never by a timed test.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class BenchmarkSmokeTests
{
    [Fact]
    public void EveryBenchmarkRunsOnceInDryMode()
    {
        var artifacts = Repo.NewTempFolder("bdn-artifacts");
        var dll = Repo.Output("benchmarks/Convergence.Benchmarks", "Convergence.Benchmarks");

        // In-process: a dry run must not spend a minute generating and building a project per benchmark.
        // The flood benchmark's 1 GB would cost CI a minute: 16 MB exercise the same path.
        using var run = RunningProcess.Dotnet(dll, ["--filter", "*", "--job", "Dry", "--inProcess", "--artifacts", artifacts], new Dictionary<string, string?> { ["CONVERGENCE_FLOOD_MB"] = "16" });

        // The bound catches a hang, not slowness: BenchmarkDotNet's validation still builds two projects, which
        // took 114 s of a 2-minute bound on this 2-core machine under load.
        var code = run.WaitForExit(TimeSpan.FromMinutes(5));

        Assert.True(code == 0, $"benchmarks exited with {code}\n{run.Output}");
        foreach (var row in new[] { "| Uncontrolled ", "| NoSyncDue ", "| SyncDueNothingPending ", "| PiggyBackNothingPending ", "| AdaptiveDefault ", "| FileCheckEveryIteration ", "| BroadcastEveryIteration ", "| ParseMix ", "| AppendAndPoll ", "| PollNothingNew ", "| WatcherConsumesFlood " })
        {
            Assert.True(run.Stdout.Contains(row, StringComparison.Ordinal), $"no table row '{row}' in the output\n{run.Output}");
        }

        Assert.DoesNotContain("benchmark failure", run.Stderr, StringComparison.Ordinal);
        Directory.Delete(artifacts, recursive: true);
    }

    [Theory]
    [InlineData(MpiFamily.MpichAbi, "MPICH ABI")]
    [InlineData(MpiFamily.OpenMpi, "Open MPI ABI")]
    public void MpiHarnessRunsQuickOnTwoRanksAndPrintsItsTables(MpiFamily mpi, string binding)
    {
        var dll = Repo.Output("benchmarks/Convergence.MpiHarness", "Convergence.MpiHarness");

        using var run = RunningProcess.MpiRun(mpi, 2, dll, ["--quick"]);
        var code = run.WaitForExit(TimeSpan.FromMinutes(2));

        Assert.True(code == 0, $"harness exited with {code}\n{run.Output}");
        foreach (var text in new[] { binding, "collectives checked on 2 ranks", "uncontrolled, direct library call", "binding cost at", "Overhead:", "uncontrolled (baseline)", "piggy-back", "adaptive", "every 100", "bcast", "file check", "Reaction latency", "change notifications on", "change notifications off", "Targets:" })
        {
            Assert.True(run.Stdout.Contains(text, StringComparison.Ordinal), $"'{text}' missing from the harness output\n{run.Output}");
        }

        // Every latency trial must have ended with STOP (the 'lost' column), even in the quick mode.
        var latencyRows = run.Stdout.Split('\n').Where(l => l.StartsWith("poll ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, latencyRows.Count);
        Assert.All(latencyRows, row => Assert.EndsWith(" 0", row.TrimEnd(), StringComparison.Ordinal));
    }
}
