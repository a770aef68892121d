namespace Convergence.Coordination;

/// <summary>
/// A sum over the ranks for a long wait (a paused job): the rank sleeps between looks instead of spinning, as a
/// blocking collective may (MPICH polls its network inside one, at 100% of a core). Implemented by the MPI
/// coordinator; elsewhere the blocking <see cref="ICoordinator.AllreduceSum(Span{double})"/> does the job.
/// </summary>
/// <remarks>Collective, on the thread that owns MPI, like every <see cref="ICoordinator"/> member.</remarks>
public interface IIdleReduction
{
    /// <summary>
    /// Element-wise sum over all ranks, in place, as <see cref="ICoordinator.AllreduceSum(Span{double})"/>: started
    /// at once, then tested every <paramref name="pollInterval"/> with the thread asleep in between;
    /// <paramref name="betweenTests"/> runs after each unsuccessful test (it may throw, to leave a rank that failed).
    /// </summary>
    /// <remarks>
    /// When <paramref name="betweenTests"/> throws, the reduction is left unfinished and the library may still
    /// write into <paramref name="values"/>: pass memory that never moves (a pinned array), as the job is going
    /// down and nothing waits for the request any more.
    /// </remarks>
    void AllreduceSumIdle(Span<double> values, TimeSpan pollInterval, Action? betweenTests);
}
