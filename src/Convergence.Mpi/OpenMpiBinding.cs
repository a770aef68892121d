using System.Runtime.InteropServices;

namespace Convergence.Mpi;

/// <summary>
/// The Open MPI binding: functions called through pointers resolved from the loaded <c>libmpi</c>, and
/// handles that are the addresses of its exported predefined objects, as Open MPI's <c>mpi.h</c> defines
/// them (<c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>, <c>MPI_DOUBLE</c> is
/// <c>&amp;ompi_mpi_double</c>, …).
/// </summary>
/// <remarks>
/// Open MPI's own constants differ from MPICH's and are used here: <c>MPI_PROC_NULL</c> is −2,
/// <c>MPI_IN_PLACE</c> is <c>(void*)1</c>, <c>MPI_STATUS_IGNORE</c> is a null pointer (so the status layout,
/// which is not MPICH's either, is never needed). These hold for Open MPI 1.10 to 5.0.
/// </remarks>
internal sealed unsafe class OpenMpiBinding : MpiBinding
{
    private const int ThreadFunneled = 1;
    private const int ProcNull = -2;
    private static readonly void* InPlace = (void*)1;

    private readonly delegate* unmanaged<int*, byte***, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<nint, int*, int> _commRank;
    private readonly delegate* unmanaged<nint, int*, int> _commSize;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged<void*, int, nint, int, nint, int> _bcast;
    private readonly delegate* unmanaged<void*, int, nint, void*, int, nint, int, nint, int> _gather;
    private readonly delegate* unmanaged<void*, int, nint, int, int, void*, int, nint, int, int, nint, void*, int> _sendrecv;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> _iallreduce;
    private readonly delegate* unmanaged<nint*, int*, void*, int> _test;
    private readonly delegate* unmanaged<nint, int> _barrier;
    private readonly delegate* unmanaged<nint, int, int> _abort;

    private readonly nint _world;
    private readonly nint _double;
    private readonly nint _byte;
    private readonly nint _sum;
    private readonly nint _max;

    /// <summary>Resolves every function and predefined object from <paramref name="library"/>.</summary>
    /// <exception cref="MpiException">An export is missing: not an Open MPI library, or a version whose ABI this binding does not know.</exception>
    public OpenMpiBinding(IntPtr library, string name)
    {
        nint Export(string symbol) => NativeLibrary.TryGetExport(library, symbol, out var address)
            ? address
            : throw new MpiException($"{name} does not export {symbol}, which the Open MPI binding needs; set {MpiRuntime.LibraryVariable} to an Open MPI 1.10–5.x libmpi or an MPICH-ABI one");

        _initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        _commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        _allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        _bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        _gather = (delegate* unmanaged<void*, int, nint, void*, int, nint, int, nint, int>)Export("MPI_Gather");
        _sendrecv = (delegate* unmanaged<void*, int, nint, int, int, void*, int, nint, int, int, nint, void*, int>)Export("MPI_Sendrecv");
        _iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Export("MPI_Iallreduce");
        _test = (delegate* unmanaged<nint*, int*, void*, int>)Export("MPI_Test");
        _barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        _abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");

        // Handles are the objects' addresses (mpi.h: #define MPI_COMM_WORLD ((MPI_Comm)&ompi_mpi_comm_world)).
        _world = Export("ompi_mpi_comm_world");
        _double = Export("ompi_mpi_double");
        _byte = Export("ompi_mpi_byte");
        _sum = Export("ompi_mpi_op_sum");
        _max = Export("ompi_mpi_op_max");
    }

    public override MpiFamily Family => MpiFamily.OpenMpi;

    public override void Initialize()
    {
        var argc = 0;
        byte** argv = null;
        int provided;
        MpiException.Check(_initThread(&argc, &argv, ThreadFunneled, &provided), "MPI_Init_thread");
    }

    public override void Shutdown() => _ = _finalize();

    public override int Rank()
    {
        int rank;
        MpiException.Check(_commRank(_world, &rank), "MPI_Comm_rank");
        return rank;
    }

    public override int Size()
    {
        int size;
        MpiException.Check(_commSize(_world, &size), "MPI_Comm_size");
        return size;
    }

    public override double AllreduceSum(double value)
    {
        double result;
        MpiException.Check(_allreduce(&value, &result, 1, _double, _sum, _world), "MPI_Allreduce");
        return result;
    }

    public override double AllreduceMax(double value)
    {
        double result;
        MpiException.Check(_allreduce(&value, &result, 1, _double, _max, _world), "MPI_Allreduce");
        return result;
    }

    public override void AllreduceSumInPlace(double* values, int count) =>
        MpiException.Check(_allreduce(InPlace, values, count, _double, _sum, _world), "MPI_Allreduce");

    public override void BroadcastBytes(void* bytes, int count) =>
        MpiException.Check(_bcast(bytes, count, _byte, 0, _world), "MPI_Bcast");

    public override void Gather(double* send, int count, double* receive) =>
        MpiException.Check(_gather(send, count, _double, receive, count, _double, 0, _world), "MPI_Gather");

    public override void SendReceive(double* send, int sendCount, int destination, double* receive, int receiveCount, int source, int tag) =>
        MpiException.Check(
            _sendrecv(
                send, sendCount, _double, destination < 0 ? ProcNull : destination, tag,
                receive, receiveCount, _double, source < 0 ? ProcNull : source, tag,
                _world, null),
            "MPI_Sendrecv");

    public override nint StartAllreduceSumInPlace(double* values, int count)
    {
        nint request;
        MpiException.Check(_iallreduce(InPlace, values, count, _double, _sum, _world, &request), "MPI_Iallreduce");
        return request;
    }

    // MPI_STATUS_IGNORE is a null pointer in Open MPI.
    public override bool Test(ref nint request)
    {
        var handle = request;
        int flag;
        MpiException.Check(_test(&handle, &flag, null), "MPI_Test");
        request = handle;
        return flag != 0;
    }

    public override void Barrier() => MpiException.Check(_barrier(_world), "MPI_Barrier");

    public override void Abort(int exitCode) => _ = _abort(_world, exitCode);
}
