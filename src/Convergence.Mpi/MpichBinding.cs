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

    public override void Barrier() => MpiException.Check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");

    public override void Abort(int exitCode) => _ = MPI_Abort(MPI_COMM_WORLD, exitCode);
}
