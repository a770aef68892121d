
namespace Convergence.Coordination;

/// <summary>
/// Neighbour exchange for solvers that split a domain across ranks (halo exchange). Implemented by the
/// MPI coordinator; a single process has no neighbours and never needs it.
/// </summary>
public interface IPointToPoint
{
    /// <summary>
    /// Sends <paramref name="send"/> to <paramref name="destination"/> and receives into
    /// <paramref name="receive"/> from <paramref name="source"/> in one deadlock-free step. A rank of -1
    /// means "no neighbour" on that side: nothing is sent or received there.
    /// </summary>
    void SendReceive(ReadOnlySpan<double> send, int destination, Span<double> receive, int source, int tag);
}
