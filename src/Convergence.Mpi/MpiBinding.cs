namespace Convergence.Mpi;

/// <summary>
/// The MPI calls the coordinator makes, on <c>MPI_COMM_WORLD</c>, behind one small surface: an MPICH-ABI
/// library and Open MPI differ in their handles and constants, not in what the coordinator asks of them.
/// </summary>
/// <remarks>
/// One instance per process, created by <see cref="MpiRuntime"/> once the library is loaded. Pointers
/// refer to pinned memory the caller owns for the duration of the call. Every return code is checked
/// (<see cref="MpiException"/>). Main thread only (MPI is initialised funneled).
/// </remarks>
internal abstract unsafe class MpiBinding
{
    /// <summary>The family this binding speaks.</summary>
    public abstract MpiFamily Family { get; }

    /// <summary><c>MPI_Init_thread</c> with <c>MPI_THREAD_FUNNELED</c>.</summary>
    public abstract void Initialize();

    /// <summary><c>MPI_Finalize</c>.</summary>
    public abstract void Shutdown();

    /// <summary>This process's rank in <c>MPI_COMM_WORLD</c>.</summary>
    public abstract int Rank();

    /// <summary>The size of <c>MPI_COMM_WORLD</c>.</summary>
    public abstract int Size();

    /// <summary>Sum of one double over all ranks (the residual's reduction: the hot path).</summary>
    public abstract double AllreduceSum(double value);

    /// <summary>Maximum of one double over all ranks.</summary>
    public abstract double AllreduceMax(double value);

    /// <summary>Element-wise sum of <paramref name="count"/> doubles, in place (<c>MPI_IN_PLACE</c>: no buffer of any size).</summary>
    public abstract void AllreduceSumInPlace(double* values, int count);

    /// <summary>Broadcasts <paramref name="count"/> bytes from rank 0.</summary>
    public abstract void BroadcastBytes(void* bytes, int count);

    /// <summary>Gathers <paramref name="count"/> doubles from every rank into <paramref name="receive"/> on rank 0 (ignored elsewhere).</summary>
    public abstract void Gather(double* send, int count, double* receive);

    /// <summary>
    /// <c>MPI_Sendrecv</c> of doubles; a negative <paramref name="destination"/> or <paramref name="source"/>
    /// is this library's <c>MPI_PROC_NULL</c>. The status is ignored.
    /// </summary>
    public abstract void SendReceive(double* send, int sendCount, int destination, double* receive, int receiveCount, int source, int tag);

    /// <summary>
    /// <c>MPI_Iallreduce</c> (sum, in place) of <paramref name="count"/> doubles: starts the reduction and returns
    /// its request (this library's <c>MPI_Request</c>, widened); <paramref name="values"/> must stay pinned
    /// until <see cref="Test"/> says it is complete.
    /// </summary>
    public abstract nint StartAllreduceSumInPlace(double* values, int count);

    /// <summary><c>MPI_Test</c> on a request from <see cref="StartAllreduceSumInPlace"/>: true once it is complete (the request is then freed).</summary>
    public abstract bool Test(ref nint request);

    /// <summary><c>MPI_Barrier</c>.</summary>
    public abstract void Barrier();

    /// <summary><c>MPI_Abort</c> on the world; returns only if the library does.</summary>
    public abstract void Abort(int exitCode);
}
