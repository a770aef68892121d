using System.Diagnostics.CodeAnalysis;
using Convergence.Coordination;

namespace Convergence.Mpi;

/// <summary>
/// The MPI coordinator over <c>MPI_COMM_WORLD</c>, for MPICH-ABI libraries and Open MPI alike: raw calls
/// on blittable data through the binding <see cref="MpiRuntime"/> chose, no serializer, no allocation
/// per call, no limit on a reduction's length.
/// </summary>
/// <remarks>
/// Collectives follow MPI semantics: every rank calls them in the same order. Call only from the main
/// thread (MPI is initialised funneled). Every return code is checked (<see cref="MpiException"/>).
/// </remarks>
public sealed unsafe class MpiCoordinator : ICoordinator, IPointToPoint, IIdleReduction, IWaitTracking
{
    private readonly MpiBinding _mpi;

    // Never null (a private one until TrackWaits): the hot path pays two increments, not a null check too.
    private RankActivity _activity = new();

    /// <summary>Creates the coordinator; <see cref="MpiRuntime.Initialize"/> must have run.</summary>
    public MpiCoordinator()
    {
        if (!MpiRuntime.IsInitialized || MpiRuntime.Binding is not { } binding)
        {
            throw new InvalidOperationException("Call MpiRuntime.Initialize() before creating an MpiCoordinator.");
        }

        _mpi = binding;
        Rank = binding.Rank();
        Size = binding.Size();
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public string Description => MpiRuntime.Description;

    /// <summary>The MPI family of the library in use.</summary>
    public MpiFamily Family => _mpi.Family;

    /// <inheritdoc />
    public double AllreduceSum(double value)
    {
        var activity = _activity;
        activity.EnterWait();
        var sum = _mpi.AllreduceSum(value);
        activity.LeaveWait();
        return sum;
    }

    /// <inheritdoc />
    public double AllreduceMax(double value)
    {
        var activity = _activity;
        activity.EnterWait();
        var max = _mpi.AllreduceMax(value);
        activity.LeaveWait();
        return max;
    }

    /// <inheritdoc />
    public void TrackWaits(RankActivity activity) => _activity = activity ?? throw new ArgumentNullException(nameof(activity));

    /// <inheritdoc />
    /// <remarks>Any length: the sum is formed in place (<c>MPI_IN_PLACE</c>), so no buffer is needed on the stack or the heap.</remarks>
    public void AllreduceSum(Span<double> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        fixed (double* p = values)
        {
            _activity.EnterWait();
            _mpi.AllreduceSumInPlace(p, values.Length);
            _activity.LeaveWait();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>MPI_Iallreduce</c>, then <c>MPI_Test</c> and a sleep until it completes: the test also drives the
    /// library's progress, so the reduction completes within one <paramref name="pollInterval"/> of the last rank's arrival.
    /// </remarks>
    public void AllreduceSumIdle(Span<double> values, TimeSpan pollInterval, Action? betweenTests)
    {
        if (values.IsEmpty)
        {
            return;
        }

        fixed (double* p = values)
        {
            _activity.EnterWait();
            var request = _mpi.StartAllreduceSumInPlace(p, values.Length);
            while (!_mpi.Test(ref request))
            {
                Thread.Sleep(pollInterval);
                betweenTests?.Invoke();
            }

            _activity.LeaveWait();
        }
    }

    /// <inheritdoc />
    public void Broadcast(ref CommandPacket packet)
    {
        fixed (CommandPacket* p = &packet)
        {
            _activity.EnterWait();
            _mpi.BroadcastBytes(p, sizeof(CommandPacket));
            _activity.LeaveWait();
        }
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> bytes)
    {
        fixed (byte* p = bytes)
        {
            _activity.EnterWait();
            _mpi.BroadcastBytes(p, bytes.Length);
            _activity.LeaveWait();
        }
    }

    /// <inheritdoc />
    public void Barrier()
    {
        _activity.EnterWait();
        _mpi.Barrier();
        _activity.LeaveWait();
    }

    /// <inheritdoc />
    /// <remarks>On rank 0, <paramref name="receive"/> must hold exactly <see cref="Size"/> × send.Length values.</remarks>
    public void Gather(ReadOnlySpan<double> send, Span<double> receive)
    {
        if (Rank == 0 && receive.Length != (long)send.Length * Size)
        {
            throw new ArgumentException($"rank 0 must receive {Size} x {send.Length} values, got a buffer of {receive.Length}", nameof(receive));
        }

        fixed (double* s = send)
        fixed (double* r = receive)
        {
            _activity.EnterWait();
            _mpi.Gather(s, send.Length, Rank == 0 ? r : null);
            _activity.LeaveWait();
        }
    }

    /// <summary>How long <see cref="Abort"/> waits for the launcher to forward this rank's last output.</summary>
    public static TimeSpan OutputDrainTime { get; } = TimeSpan.FromMilliseconds(250);

    /// <inheritdoc />
    [DoesNotReturn]
    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();

        // The launcher forwards each rank's output through a pipe and tears the job down as soon as the abort
        // reaches it; what this rank has just written (the error line) is then sometimes lost (measured with
        // MPICH's hydra at 8 ranks). A short pause lets the forwarding read it first; a failure path only.
        Thread.Sleep(OutputDrainTime);
        _mpi.Abort(exitCode);

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
            _activity.EnterWait();
            _mpi.SendReceive(s, destination < 0 ? 0 : send.Length, destination, r, source < 0 ? 0 : receive.Length, source, tag);
            _activity.LeaveWait();
        }
    }
}
