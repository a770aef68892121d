using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>The control contract through the single-process coordinator (no MPI at all).</summary>
[Collection(MpiCollection.Name)]
public sealed class SingleProcessControlSemanticsTests : ControlSemanticsContract
{
    protected override int Ranks => 1;

    protected override RunningProcess StartJob(string service, params string[] args) =>
        RunningProcess.Dotnet(Poisson, ["--single-process", "--service", service, .. args]);
}
