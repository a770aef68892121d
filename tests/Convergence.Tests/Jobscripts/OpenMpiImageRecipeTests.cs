using System.Runtime.Versioning;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Jobscripts;

/// <summary>The image recipe's Open MPI build option: what build-image.sh stages, and that the staged solver runs on Open MPI the way the image would.</summary>
[SupportedOSPlatform("linux")]
[Collection(MpiCollection.Name)]
public sealed class OpenMpiImageRecipeTests
{
    [Fact]
    public void MpiOpenMpi_StagesARecipeWithOpenMpiInsideAndTheStagedSolverRunsOnOpenMpi()
    {
        var stage = Path.Combine(Repo.NewTempFolder("image-ompi"), "stage");
        using (var build = RunningProcess.Start(Path.Combine(Scripts.Folder, "build-image.sh"), ["--stage-only", stage, "--mpi", "openmpi", "--from", "debian:12-slim"]))
        {
            var code = build.WaitForExit(TimeSpan.FromMinutes(4));
            Assert.True(code == 0, build.Output);
            Assert.Contains("image MPI: openmpi, base debian:12-slim", build.Stderr, StringComparison.Ordinal);
        }

        var def = DefinitionFile.Read(Path.Combine(stage, "convergence.def"));
        Assert.Equal("debian:12-slim", def.Header["From"]);
        Assert.Contains("mpi=openmpi", def.Lines("post"));
        Assert.Contains(def.Lines("post"), l => l.StartsWith("/bin/bash /opt/convergence/lib/image-recipe.sh install \"$mpi\"", StringComparison.Ordinal));
        Assert.Contains(File.ReadAllLines(Path.Combine(stage, "image-recipe.sh")), l => l.Trim().StartsWith("apt-get install -y --no-install-recommends openmpi-bin ", StringComparison.Ordinal));
        Assert.Contains("export CONVERGENCE_MPI=openmpi", def.Lines("environment"));

        // The image's %environment names Open MPI; its entry point then launches with mpirun.openmpi.
        var service = Path.Combine(stage, "service");
        var env = new Dictionary<string, string?>(RunningProcess.MpiEnvironment(MpiFamily.OpenMpi))
        {
            ["CONVERGENCE_SERVICE_DIR"] = service,
            ["CONVERGENCE_APP"] = Path.Combine(stage, "app", "Poisson"),
            ["CONVERGENCE_MPI"] = "openmpi",
        };
        using var run = RunningProcess.Start(Path.Combine(stage, "semwes-entrypoint.sh"), ["--n", "16", "--method", "jacobi", "--tolerance", "1e-2"], env);
        Assert.True(run.WaitForExit(TimeSpan.FromSeconds(90)) == 0, run.Output);
        Assert.Contains("ranks=2 (Open MPI v", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("CONVERGED", Notify.ReadResult(service)["outcome"]);
    }

    [Fact]
    public void AnUnknownMpiIsRefusedBeforeAnythingIsBuilt()
    {
        using var build = RunningProcess.Start(Path.Combine(Scripts.Folder, "build-image.sh"), ["--stage-only", Repo.NewTempFolder("image-bad"), "--mpi", "lam"]);
        Assert.Equal(2, build.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("--mpi must be mpich or openmpi, got 'lam'", build.Stderr, StringComparison.Ordinal);
    }
}
