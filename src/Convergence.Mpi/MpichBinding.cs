using System.Runtime.InteropServices;
using static MPI.Unsafe;

namespace Convergence.Mpi;

/// <summary>
/// The MPICH-ABI binding: MPI.NET's imports (declared for <c>msmpi</c>, resolved to the loaded library by
/// <see cref="MpiRuntime"/>), whose integer handles and constants are MPICH's.
/// </summary>
internal sealed unsafe class MpichBinding : MpiBinding
{
    // MPICH's mpi.h: #define MPI_IN_PLACE (void *) -1 (MPI.NET does not declare it).
    private static readonly IntPtr InPlace = -1;

    // MPICH's mpi.h: #define MPI_STATUS_IGNORE (MPI_Status *)1.
    private static readonly void* StatusIgnore = (void*)1;

    // MPI-3 calls MPI.NET (an MPI-2 binding) does not declare: resolved from the loaded library. MPICH's
    // handles (communicator, datatype, operation, request) are all ints.
    private readonly delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int*, int> _iallreduce;
    private readonly delegate* unmanaged<int*, int*, void*, int> _test;

    /// <summary>Resolves the calls MPI.NET does not declare from <paramref name="library"/>.</summary>
    /// <exception cref="MpiException">The library lacks them (older than MPI-3).</exception>
    public MpichBinding(IntPtr library, string name)
    {
        nint Export(string symbol) => NativeLibrary.TryGetExport(library, symbol, out var address)
            ? address
            : throw new MpiException($"{name} does not export {symbol} (MPI-3), which the MPICH binding needs; use MPICH 3.0 or later, or set {MpiRuntime.LibraryVariable} to a newer MPICH-ABI libmpi");

        _iallreduce = (delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int*, int>)Export("MPI_Iallreduce");
        _test = (delegate* unmanaged<int*, int*, void*, int>)Export("MPI_Test");
    }

    public override MpiFamily Family => MpiFamily.MpichAbi;

    public override void Initialize()
    {
        var argc = 0;
        byte** argv = null;
        MpiException.Check(MPI_Init_thread(ref argc, ref argv, MPI_THREAD_FUNNELED, out _), "MPI_Init_thread");
    }

    public override void Shutdown() => _ = MPI_Finalize();

    public override int Rank()
    {
        MpiException.Check(MPI_Comm_rank(MPI_COMM_WORLD, out var rank), "MPI_Comm_rank");
        return rank;
    }

    public override int Size()
    {
        MpiException.Check(MPI_Comm_size(MPI_COMM_WORLD, out var size), "MPI_Comm_size");
        return size;
    }

    public override double AllreduceSum(double value)
    {
        double result;
        MpiException.Check(MPI_Allreduce((IntPtr)(&value), (IntPtr)(&result), 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
        return result;
    }

    public override double AllreduceMax(double value)
    {
        double result;
        MpiException.Check(MPI_Allreduce((IntPtr)(&value), (IntPtr)(&result), 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
        return result;
    }

    public override void AllreduceSumInPlace(double* values, int count) =>
        MpiException.Check(MPI_Allreduce(InPlace, (IntPtr)values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");

    public override void BroadcastBytes(void* bytes, int count) =>
        MpiException.Check(MPI_Bcast((IntPtr)bytes, count, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");

    public override void Gather(double* send, int count, double* receive) =>
        MpiException.Check(MPI_Gather((IntPtr)send, count, MPI_DOUBLE, (IntPtr)receive, count, MPI_DOUBLE, 0, MPI_COMM_WORLD), "MPI_Gather");

    public override void SendReceive(double* send, int sendCount, int destination, double* receive, int receiveCount, int source, int tag) =>
        MpiException.Check(
            MPI_Sendrecv(
                (IntPtr)send, sendCount, MPI_DOUBLE, destination < 0 ? MPI_PROC_NULL : destination, tag,
                (IntPtr)receive, receiveCount, MPI_DOUBLE, source < 0 ? MPI_PROC_NULL : source, tag,
                MPI_COMM_WORLD, out _),
            "MPI_Sendrecv");

    public override nint StartAllreduceSumInPlace(double* values, int count)
    {
        int request;
        MpiException.Check(_iallreduce(InPlace, (IntPtr)values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &request), "MPI_Iallreduce");
        return request;
    }

    public override bool Test(ref nint request)
    {
        var handle = (int)request;
        int flag;
        MpiException.Check(_test(&handle, &flag, StatusIgnore), "MPI_Test");
        request = handle;
        return flag != 0;
    }

    public override void Barrier() => MpiException.Check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");

    public override void Abort(int exitCode) => _ = MPI_Abort(MPI_COMM_WORLD, exitCode);
}
