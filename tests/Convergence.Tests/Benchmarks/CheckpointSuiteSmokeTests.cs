using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Benchmarks;

/// <summary>The MPI harness's checkpoint suite runs (quick) and prints its rows, so the figures in RESULTS.md stay reproducible.</summary>
[Collection(MpiCollection.Name)]
public sealed class CheckpointSuiteSmokeTests
{
    [Fact]
    public void CheckpointSuiteRunsQuickOnThreeRanksAndPrintsBothTables()
    {
        var dll = Repo.Output("benchmarks/Convergence.MpiHarness", "Convergence.MpiHarness");
        var folder = Repo.NewTempFolder("harness-ckpt");

        using var run = RunningProcess.MpiRun(3, dll, ["--quick", "--checkpoints", "--checkpoint-dir", folder]);
        var code = run.WaitForExit(TimeSpan.FromMinutes(3));

        Assert.True(code == 0, $"harness exited with {code}\n{run.Output}");
        foreach (var text in new[] { "Checkpoint confirmation at np 3", "write, before: allreduce 10x3 doubles", "write, after: gather 10 + bcast 8 B", "resume, after: gather 1 + bcast 8 B", "Checkpoint throughput at np 3", "raw parallel write+fsync", "ratio checkpoint/raw" })
        {
            Assert.True(run.Stdout.Contains(text, StringComparison.Ordinal), $"'{text}' missing from the harness output\n{run.Output}");
        }

        // The suite removes what it wrote.
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }
}
