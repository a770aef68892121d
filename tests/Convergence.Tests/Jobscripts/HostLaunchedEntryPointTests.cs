using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Jobscripts;

/// <summary>
/// The platform's MPI launch without a container: the host's launcher starts one entry point per rank
/// (<c>mpirun -np 2 semwes-entrypoint.sh …</c>, as <c>mpirun -np 2 singularity exec … IMAGE COMMAND</c>
/// would), and the copies must form one 2-rank job, not two nested launches; and the entry point's own
/// launcher runs the MPI that <c>CONVERGENCE_MPI</c> names.
/// </summary>
[Collection(MpiCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostLaunchedEntryPointTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Theory]
    [InlineData(MpiFamily.MpichAbi, "MPICH")]
    [InlineData(MpiFamily.OpenMpi, "Open MPI")]
    public void UnderTheHostsLauncher_EachCopyRunsItsRankDirectly_OneJobOnePageOneResult(MpiFamily mpi, string family)
    {
        var service = Path.Combine(Repo.NewTempFolder("host-launch"), "service");
        using var job = RunningProcess.MpiStart(mpi, 2, [Scripts.EntryPoint, "--n", "16", "--method", "jacobi", "--tolerance", "1e-2"], Environment(service));

        var code = job.WaitForExit(TimeSpan.FromSeconds(90));
        Assert.True(code == 0, job.Output);
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("2", result["ranks"]);

        // One job: one start line naming both ranks and the family, one entry-point announcement (rank 0's), no nested launcher.
        Assert.Single(job.Stdout.Split('\n'), l => l.Contains(" start job=poisson ", StringComparison.Ordinal));
        Assert.Contains($"ranks=2 ({family}", job.Stdout, StringComparison.Ordinal);
        Assert.Single(job.Stderr.Split('\n'), l => l.Contains("semwes-entrypoint: started by the host's MPI launcher: rank 0 runs", StringComparison.Ordinal));
        Assert.DoesNotContain("semwes-entrypoint: starting:", job.Stderr, StringComparison.Ordinal);
        Assert.Single(job.Stderr.Split('\n'), l => l.Contains("semwes-entrypoint: finished: outcome=CONVERGED", StringComparison.Ordinal));
        Assert.Equal(["result.txt", "status.html", "status.json"], Directory.GetFiles(service).Select(Path.GetFileName).Where(n => n is "result.txt" or "status.html" or "status.json").Order(StringComparer.Ordinal));
        Assert.DoesNotContain('\u001b', job.Output);
    }

    [Theory]
    [InlineData("mpich", "MPICH")]
    [InlineData("openmpi", "Open MPI")]
    public void StartedOnce_TheEntryPointsLauncherIsTheMpiConvergenceMpiNames(string mpi, string family)
    {
        var service = Path.Combine(Repo.NewTempFolder("nested-launch"), "service");
        var env = Environment(service);
        env["CONVERGENCE_MPI"] = mpi;
        env["CONVERGENCE_RANKS"] = "2";
        using var job = RunningProcess.Start(Scripts.EntryPoint, ["--n", "16", "--method", "jacobi", "--tolerance", "1e-2"], env);

        var code = job.WaitForExit(TimeSpan.FromSeconds(90));
        Assert.True(code == 0, job.Output);
        Assert.Contains($"semwes-entrypoint: starting: mpirun.{mpi} ", job.Stderr, StringComparison.Ordinal);
        Assert.Contains($"ranks=2 ({family}", job.Stdout, StringComparison.Ordinal);
        Assert.Equal("2", Notify.ReadResult(service)["ranks"]);
    }

    [Fact]
    public void AnUnknownMpiIsABadSetup()
    {
        var service = Path.Combine(Repo.NewTempFolder("bad-mpi"), "service");
        var env = Environment(service);
        env["CONVERGENCE_MPI"] = "lam";
        using var job = RunningProcess.Start(Scripts.EntryPoint, [], env);

        Assert.Equal(2, job.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("CONVERGENCE_MPI must be mpich or openmpi, got 'lam'", job.Stderr, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Environment(string service)
    {
        var env = new Dictionary<string, string?>(RunningProcess.MpiEnvironment(MpiFamily.OpenMpi))
        {
            ["CONVERGENCE_SERVICE_DIR"] = service,
            ["CONVERGENCE_APP"] = Poisson,
        };
        return env;
    }
}
