using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// The control contract under Open MPI's own launcher (<c>mpirun.openmpi -np 2</c>), through the Open MPI
/// binding, plus what differs under Open MPI: the log it gives a terminal, and the start line.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class OpenMpiControlSemanticsTests : ControlSemanticsContract
{
    protected override int Ranks => 2;

    protected override RunningProcess StartJob(string service, params string[] args) =>
        RunningProcess.MpiRun(MpiFamily.OpenMpi, 2, Poisson, ["--service", service, .. args]);

    [Fact]
    public void TheLogHoldsNoTerminalEscapesAndTheStartLineNamesOpenMpiAndItsVersion()
    {
        var service = Repo.NewTempFolder("ompi-log");
        using var job = StartJob(service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-2");

        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(60)));

        // Open MPI gives each rank a pseudo-terminal; .NET would write ESC[?1h ESC= to it at first use.
        Assert.DoesNotContain('\u001b', job.Stdout);
        Assert.DoesNotContain('\u001b', job.Stderr);
        Assert.StartsWith("20", job.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"start job=poisson .* ranks=2 \(Open MPI v\d+\.\d+\.\d+, libmpi\.so\.\d+, Open MPI ABI; started by Open MPI's mpirun \(OMPI_COMM_WORLD_SIZE=2\)\)", job.Stdout);
        Assert.Equal("2", Notify.ReadResult(service)["ranks"]);
    }
}

/// <summary>The control contract on 4 Open MPI ranks (oversubscribed on a small machine).</summary>
[Collection(MpiCollection.Name)]
public sealed class OpenMpi4RanksControlSemanticsTests : ControlSemanticsContract
{
    protected override int Ranks => 4;

    protected override RunningProcess StartJob(string service, params string[] args) =>
        RunningProcess.MpiRun(MpiFamily.OpenMpi, 4, Poisson, ["--service", service, .. args]);
}
