using Convergence.Checkpoints;
using Convergence.Tests.Checkpoints;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Faults;

/// <summary>
/// A full disk under the real 2-rank Poisson example: the result is still written where space allowed the
/// placeholder, and a checkpoint that does not fit is declined while the previous one stays loadable.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class FullDiskTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public void AServiceFolderThatFillsUpDuringTheRun_StillGetsTheResult()
    {
        using var disk = new SizeLimitedFolder("full-service", 512);
        using var job = PoissonJob.Start(disk.Path, "--tolerance", "1e-30", "--max-iterations", "150", "--slow-ms", "20", "--checkpoint-every", "off");
        job.WaitForOutput("start job=", Patience);
        disk.Fill();

        var exit = job.WaitForExit(Patience);
        output.WriteLine(job.Output);

        Assert.Equal(4, exit);
        var result = Notify.ReadResult(disk.Path);
        Assert.Equal("ITERATION_LIMIT", result["outcome"]);
        Assert.Equal("150", result["total_iterations"]);
    }

    [Fact]
    public void ACheckpointThatDoesNotFit_IsDeclinedWithTheReason_AndThePreviousOneResumes()
    {
        var service = Repo.NewTempFolder("full-ckpt-service");
        using var disk = new SizeLimitedFolder("full-ckpt", 256);
        string[] run = ["--tolerance", "1e-30", "--checkpoint-dir", disk.Path, "--checkpoint-every", "20", "--slow-ms", "20"];
        using (var job = PoissonJob.Start(service, [.. run, "--max-iterations", "60"]))
        {
            job.WaitForOutput("checkpoint ckpt-00000001 complete", Patience);
            disk.Fill();
            var exit = job.WaitForExit(Patience);
            output.WriteLine(job.Output);

            Assert.Equal(4, exit);
            Assert.Contains("checkpoint ckpt-00000002 not complete", job.Stdout, StringComparison.Ordinal);
            Assert.Contains("No space left on device", job.Stdout, StringComparison.Ordinal);
            Assert.Equal(new CheckpointStore(disk.Path).FolderOf(1), Notify.ReadResult(service)["checkpoint"]);
        }

        using var resumed = PoissonJob.Start(service, [.. run, "--resume", "--max-iterations", "25", "--checkpoint-every", "off"]);
        var resumedExit = resumed.WaitForExit(Patience);
        output.WriteLine(resumed.Output);
        Assert.Equal(4, resumedExit);
        Assert.Contains("resumed from ckpt-00000001 at iteration 20", resumed.Stdout, StringComparison.Ordinal);
        Assert.Equal("25", Notify.ReadResult(service)["total_iterations"]);
    }
}
