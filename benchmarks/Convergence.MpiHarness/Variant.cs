namespace Convergence.MpiHarness;

/// <summary>One way of running the same solver for the same number of iterations.</summary>
internal enum Variant
{
    /// <summary>The bare loop: iterate, reduce the residual (one double), compare. The baseline.</summary>
    Uncontrolled,

    /// <summary>The bare loop again, timed as a separate variant: its ratio shows the noise floor.</summary>
    UncontrolledAgain,

    /// <summary>
    /// The bare loop with the residual reduction calling the MPI library directly, past the coordinator and
    /// its binding: under MPICH exactly the MPI.NET call the coordinator made before it had bindings. Its
    /// ratio shows what the binding layer costs.
    /// </summary>
    UncontrolledDirectCall,

    /// <summary>The bare loop reducing a sync header's worth of doubles every iteration: piggy-back's MPI cost alone.</summary>
    UncontrolledHeaderSized,

    /// <summary>The framework, control slots in every iteration's residual reduction.</summary>
    PiggyBack,

    /// <summary>The framework's default: adaptive cadence, a sync about every 20 ms.</summary>
    Adaptive,

    /// <summary>The framework, a sync every K iterations.</summary>
    EveryK,

    /// <summary>The bare loop plus a raw broadcast of the command packet from rank 0 at every iteration.</summary>
    BroadcastEveryIteration,

    /// <summary>The bare loop plus a marker-file check at every iteration on every rank (the platform example).</summary>
    FileCheckEveryIteration,
}
