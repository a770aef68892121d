using System.Diagnostics.CodeAnalysis;

namespace Convergence.Coordination;

/// <summary>
/// The collectives the control loop needs. Implemented for a single process and for MPI.
/// </summary>
/// <remarks>
/// Every method is collective unless stated: all ranks call it in the same order with the same sizes.
/// Call only from the thread that runs the control loop (MPI calls stay on the main thread).
/// </remarks>
public interface ICoordinator
{
    /// <summary>This process's rank, 0-based.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int Size { get; }

    /// <summary>A short description for the start-up line (e.g. the MPI library).</summary>
    string Description { get; }

    /// <summary>Sums <paramref name="value"/> over all ranks; every rank gets the same sum.</summary>
    double AllreduceSum(double value);

    /// <summary>The maximum of <paramref name="value"/> over all ranks.</summary>
    double AllreduceMax(double value);

    /// <summary>Element-wise sum over all ranks, in place; any length (tables that grow with <see cref="Size"/> included).</summary>
    void AllreduceSum(Span<double> values);

    /// <summary>Sends rank 0's packet to every rank; on the others, <paramref name="packet"/> is overwritten.</summary>
    void Broadcast(ref CommandPacket packet);

    /// <summary>Sends rank 0's bytes to every rank; every rank passes a buffer of the same length.</summary>
    void Broadcast(Span<byte> bytes);

    /// <summary>
    /// Collects every rank's <paramref name="send"/> (the same length on every rank) on rank 0: there
    /// <paramref name="receive"/> holds <see cref="Size"/> × send.Length values in rank order; the other ranks
    /// pass an empty span.
    /// </summary>
    void Gather(ReadOnlySpan<double> send, Span<double> receive);

    /// <summary>Waits until every rank has arrived.</summary>
    void Barrier();

    /// <summary>
    /// Ends the whole job at once with <paramref name="exitCode"/>; not collective: one rank calling it
    /// takes the others down, wherever they are waiting.
    /// </summary>
    [DoesNotReturn]
    void Abort(int exitCode);
}
