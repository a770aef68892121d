using Convergence.Checkpoints;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

/// <summary>Checkpoints and <c>--resume</c> on 4 Open MPI ranks: the collective confirmation, the manifest and the restore through the Open MPI binding.</summary>
[Collection(MpiCollection.Name)]
public sealed class OpenMpiCheckpointTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public void CheckpointThenResumeOnFourOpenMpiRanks_EndsWithTheFieldOfAnUninterruptedRun()
    {
        var referenceService = Repo.NewTempFolder("ompi-ckpt-ref");
        var referenceField = Path.Combine(referenceService, "field");
        using (var reference = Start(referenceService, "--tolerance", "1e-9", "--output", referenceField))
        {
            ExpectExit(reference, 0);
        }

        var expected = Notify.ReadResult(referenceService);
        Assert.Equal("CONVERGED", expected["outcome"]);

        var service = Repo.NewTempFolder("ompi-ckpt");
        using (var first = Start(service, "--tolerance", "1e-9", "--checkpoint-every", "20", "--max-iterations", "65"))
        {
            ExpectExit(first, 4);
        }

        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        Assert.Equal([3L, 2L, 1L], store.ListIds());
        var manifest = store.ReadManifest(3);
        Assert.Equal(4, manifest.Parts.Count);
        Assert.All(manifest.Parts, p => Assert.Null(store.VerifyPart(3, p)));

        var finalField = Path.Combine(service, "field");
        using (var resumed = Start(service, "--tolerance", "1e-9", "--resume", "--output", finalField))
        {
            ExpectExit(resumed, 0);
            Assert.Contains("resumed from ckpt-00000003 at iteration 60 (total 60)", resumed.Stdout, StringComparison.Ordinal);
        }

        var actual = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", actual["outcome"]);
        Assert.Equal("4", actual["ranks"]);
        Assert.Equal(expected["total_iterations"], actual["total_iterations"]);
        Assert.Equal(expected["residual"], actual["residual"]);
        for (var rank = 0; rank < 4; rank++)
        {
            var piece = $"poisson_{rank}.vti";
            Assert.Equal(File.ReadAllBytes(Path.Combine(referenceField, piece)), File.ReadAllBytes(Path.Combine(finalField, piece)));
        }
    }

    private static RunningProcess Start(string service, params string[] args) =>
        RunningProcess.MpiRun(MpiFamily.OpenMpi, 4, PoissonJob.Dll, ["--service", service, .. PoissonJob.Small, .. args]);

    private static void ExpectExit(RunningProcess job, int expected)
    {
        var code = job.WaitForExit(Patience);
        Assert.True(code == expected, $"exit code {code}, expected {expected}\n{job.Output}");
    }
}
