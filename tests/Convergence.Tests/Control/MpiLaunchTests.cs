using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// The library follows the launcher: each MPI's own <c>mpirun</c> gets its own binding, and a library
/// that cannot join the launcher's job is refused before the first iteration instead of running N
/// silent copies.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class MpiLaunchTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Fact]
    public void OpenMpiLauncherWithTheMpichLibraryForced_IsRefusedWithExitCode2AndOneLine()
    {
        var service = Repo.NewTempFolder("mismatch-ompi");
        using var job = RunningProcess.MpiRun(MpiFamily.OpenMpi, 2, Poisson, ["--service", service, "--n", "24"],
            new Dictionary<string, string?> { [MpiRuntime.LibraryVariable] = "libmpich.so.12" });

        Assert.Equal(2, job.WaitForExit(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(job.Stderr.Split('\n'), l => l.StartsWith("convergence:", StringComparison.Ordinal));
        Assert.Matches(
            @"^convergence: Open MPI's mpirun \(OMPI_COMM_WORLD_SIZE=2\) started 2 ranks but libmpich\.so\.12 \(MPICH \d+\.\d+(\.\d+)?, MPICH-ABI\) sees only 1, so each would run alone; "
            + @"start it with MPICH's launcher \(mpirun\.mpich\) or let it load Open MPI \(unset CONVERGENCE_MPI_LIBRARY or set it to openmpi; Debian: apt-get install libopenmpi3\)$",
            line);

        // Refused before anything ran: no page, no result, no iteration.
        Assert.False(File.Exists(Path.Combine(service, "result.txt")), job.Output);
        Assert.False(File.Exists(Path.Combine(service, "status.html")), job.Output);
        Assert.DoesNotContain("start job", job.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void MpichLauncherWithTheOpenMpiLibraryForced_IsRefusedWithExitCode2AndOneLine()
    {
        var service = Repo.NewTempFolder("mismatch-mpich");
        using var job = RunningProcess.MpiRun(MpiFamily.MpichAbi, 2, Poisson, ["--service", service, "--n", "24"],
            new Dictionary<string, string?> { [MpiRuntime.LibraryVariable] = "openmpi" });

        Assert.Equal(2, job.WaitForExit(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(job.Stderr.Split('\n'), l => l.StartsWith("convergence:", StringComparison.Ordinal));
        Assert.StartsWith("convergence: MPICH's hydra mpirun (PMI_SIZE=2) started 2 ranks but libmpi.so.40 (Open MPI v", line, StringComparison.Ordinal);
        Assert.EndsWith("start it with Open MPI's launcher (mpirun.openmpi) or let it load an MPICH-ABI library (unset CONVERGENCE_MPI_LIBRARY or set it to mpich; Debian: apt-get install libmpich12)", line, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(service, "result.txt")), job.Output);
    }

    [Theory]
    [InlineData(MpiFamily.MpichAbi, @"\(MPICH \d+\.\d+(\.\d+)?, libmpich\.so\.12, MPICH ABI; started by MPICH's hydra mpirun \(PMI_SIZE=3\)\)")]
    [InlineData(MpiFamily.OpenMpi, @"\(Open MPI v\d+\.\d+\.\d+, libmpi\.so\.40, Open MPI ABI; started by Open MPI's mpirun \(OMPI_COMM_WORLD_SIZE=3\)\)")]
    public void EachLauncherGetsItsOwnLibrary_TheStartLineSaysWhichAndTheLogIsClean(MpiFamily mpi, string startLine)
    {
        var service = Repo.NewTempFolder("launch");
        using var job = RunningProcess.MpiRun(mpi, 3, Poisson, ["--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-2"]);

        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(90)));
        Assert.Matches("start job=poisson .* ranks=3 " + startLine, job.Stdout);
        Assert.Equal("3", Notify.ReadResult(service)["ranks"]);
        Assert.Equal(2, job.Stdout.Split('\n').Count(l => l.Contains("] end outcome=CONVERGED", StringComparison.Ordinal)));
        Assert.DoesNotContain('\u001b', job.Output);
    }

    [Fact]
    public void WithoutALauncher_ASingletonRunsOnMpichAsBefore()
    {
        var service = Repo.NewTempFolder("singleton");
        using var job = RunningProcess.Dotnet(Poisson, ["--service", service, "--n", "16", "--method", "jacobi"]);

        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Matches(@"ranks=1 \(MPICH \S+, libmpich\.so\.12, MPICH ABI; started by no MPI launcher\)", job.Stdout);
    }
}
