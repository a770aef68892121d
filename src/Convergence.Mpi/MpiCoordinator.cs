using System.Diagnostics.CodeAnalysis;
using Convergence.Control;
using static MPI.Unsafe;

namespace Convergence.Mpi;

/// <summary>
/// The MPI coordinator over <c>MPI_COMM_WORLD</c>: raw MPI.NET calls on blittable data, no serializer,
/// no allocation per call.
/// </summary>
/// <remarks>
/// Collectives follow MPI semantics: every rank calls them in the same order. Call only from the main
/// thread (MPI is initialised funneled). Every return code is checked (<see cref="MpiException"/>).
/// </remarks>
public sealed unsafe class MpiCoordinator : ICoordinator, IPointToPoint
{
    private const int MaxReduceLength = 64;

    /// <summary>Creates the coordinator; <see cref="MpiRuntime.Initialize"/> must have run.</summary>
    public MpiCoordinator()
    {
        if (!MpiRuntime.IsInitialized)
        {
            throw new InvalidOperationException("Call MpiRuntime.Initialize() before creating an MpiCoordinator.");
        }

        MpiException.Check(MPI_Comm_rank(MPI_COMM_WORLD, out var rank), "MPI_Comm_rank");
        MpiException.Check(MPI_Comm_size(MPI_COMM_WORLD, out var size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public string Description => MpiRuntime.Description;

    /// <inheritdoc />
    public double AllreduceSum(double value) => Allreduce(value, MPI_SUM);

    /// <inheritdoc />
    public double AllreduceMax(double value) => Allreduce(value, MPI_MAX);

    /// <inheritdoc />
    public void AllreduceSum(Span<double> values)
    {
        if (values.Length > MaxReduceLength)
        {
            throw new ArgumentOutOfRangeException(nameof(values), values.Length, $"at most {MaxReduceLength} values per reduction");
        }

        var result = stackalloc double[values.Length];
        fixed (double* send = values)
        {
            MpiException.Check(MPI_Allreduce((IntPtr)send, (IntPtr)result, values.Length, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
        }

        new ReadOnlySpan<double>(result, values.Length).CopyTo(values);
    }

    /// <inheritdoc />
    public void Broadcast(ref CommandPacket packet)
    {
        fixed (CommandPacket* p = &packet)
        {
            MpiException.Check(MPI_Bcast((IntPtr)p, sizeof(CommandPacket), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
        }
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> bytes)
    {
        fixed (byte* p = bytes)
        {
            MpiException.Check(MPI_Bcast((IntPtr)p, bytes.Length, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
        }
    }

    /// <inheritdoc />
    public void Gather(ReadOnlySpan<double> send, Span<double> receive)
    {
        // Only the root's receive buffer is read by MPI; checking it here turns a wrong size into an
        // exception instead of memory written past the buffer.
        if (Rank == 0 && receive.Length != (long)Size * send.Length)
        {
            throw new ArgumentException($"rank 0 receives {send.Length} values from each of {Size} ranks, the buffer holds {receive.Length}", nameof(receive));
        }

        fixed (double* s = send)
        fixed (double* r = receive)
        {
            MpiException.Check(MPI_Gather((IntPtr)s, send.Length, MPI_DOUBLE, (IntPtr)r, send.Length, MPI_DOUBLE, 0, MPI_COMM_WORLD), "MPI_Gather");
        }
    }

    /// <inheritdoc />
    public void Barrier() => MpiException.Check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");

    /// <inheritdoc />
    [DoesNotReturn]
    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        _ = MPI_Abort(MPI_COMM_WORLD, exitCode);

        // MPI_Abort does not return on a working MPI; if it does, end this process at least.
        Environment.Exit(exitCode);
        throw new InvalidOperationException("unreachable");
    }

    /// <inheritdoc />
    public void SendReceive(ReadOnlySpan<double> send, int destination, Span<double> receive, int source, int tag)
    {
        fixed (double* s = send)
        fixed (double* r = receive)
        {
            MpiException.Check(
                MPI_Sendrecv(
                    (IntPtr)s, destination < 0 ? 0 : send.Length, MPI_DOUBLE, destination < 0 ? MPI_PROC_NULL : destination, tag,
                    (IntPtr)r, source < 0 ? 0 : receive.Length, MPI_DOUBLE, source < 0 ? MPI_PROC_NULL : source, tag,
                    MPI_COMM_WORLD, out _),
                "MPI_Sendrecv");
        }
    }

    private static double Allreduce(double value, int op)
    {
        double result;
        MpiException.Check(MPI_Allreduce((IntPtr)(&value), (IntPtr)(&result), 1, MPI_DOUBLE, op, MPI_COMM_WORLD), "MPI_Allreduce");
        return result;
    }
}
