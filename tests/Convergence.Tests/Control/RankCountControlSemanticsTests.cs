using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// The control contract under <c>mpirun -np N</c> with MPICH at rank counts other than the 2 of
/// <see cref="MpiControlSemanticsTests"/>: ABORT, STOP, RESTART, CHANGE_TOLERANCE and a custom command
/// reach every rank and are applied by all at the same iteration (each rank's log line is compared).
/// </summary>
/// <remarks>
/// Above two ranks this machine's two cores are oversubscribed, and MPICH busy-polls while it waits, so a
/// sweep takes as long as the slowest rank's turn on a core: the grid shrinks with the rank count and the
/// patience grows (a hang still fails, slowness does not).
/// </remarks>
public abstract class RankCountControlSemanticsTests : ControlSemanticsContract
{
    /// <inheritdoc />
    protected override int GridPoints => Ranks <= 2 ? 48 : 16;

    /// <inheritdoc />
    protected override TimeSpan Patience => TimeSpan.FromSeconds(Ranks <= 2 ? 60 : 180);

    /// <inheritdoc />
    protected override RunningProcess StartJob(string service, params string[] args) =>
        RunningProcess.MpiRun(Ranks, Poisson, ["--service", service, .. args]);
}

/// <summary>The contract on one MPI rank (the MPI coordinator alone, not the single-process one).</summary>
[Collection(MpiCollection.Name)]
public sealed class MpiControlSemanticsAt1RankTests : RankCountControlSemanticsTests
{
    /// <inheritdoc />
    protected override int Ranks => 1;
}

/// <summary>The contract on 3 ranks: an odd count, rows split unevenly.</summary>
[Collection(MpiCollection.Name)]
public sealed class MpiControlSemanticsAt3RanksTests : RankCountControlSemanticsTests
{
    /// <inheritdoc />
    protected override int Ranks => 3;
}

/// <summary>The contract on 4 ranks.</summary>
[Collection(MpiCollection.Name)]
public sealed class MpiControlSemanticsAt4RanksTests : RankCountControlSemanticsTests
{
    /// <inheritdoc />
    protected override int Ranks => 4;
}

/// <summary>The contract on 8 ranks.</summary>
[Collection(MpiCollection.Name)]
public sealed class MpiControlSemanticsAt8RanksTests : RankCountControlSemanticsTests
{
    /// <inheritdoc />
    protected override int Ranks => 8;
}
