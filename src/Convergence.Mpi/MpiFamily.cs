namespace Convergence.Mpi;

/// <summary>The two MPI ABIs a job can load; each has its own binding.</summary>
public enum MpiFamily
{
    /// <summary>MPICH and its ABI-compatible derivatives (Intel MPI, MVAPICH, Cray MPICH): integer handles, through MPI.NET.</summary>
    MpichAbi,

    /// <summary>Open MPI: handles are addresses of the library's predefined objects, resolved at run time.</summary>
    OpenMpi,
}
