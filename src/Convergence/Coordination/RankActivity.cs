using System.Runtime.CompilerServices;

namespace Convergence.Coordination;

/// <summary>
/// What this rank is doing, for the stall watchdog: the iteration it is working on, and whether it is waiting
/// inside a blocking MPI call (for another rank) or not (computing, or stuck in its own code).
/// </summary>
/// <remarks>
/// Written by the loop's thread with plain stores (one per iteration, two per blocking call: a few cycles
/// beside an iteration's work and its reduction); read by a background thread, which only needs to see a
/// value that stays the same for seconds. Nothing here calls MPI.
/// </remarks>
public sealed class RankActivity
{
    private long _iteration;
    private long _waits;

    /// <summary>The total iteration this rank is working on (0 before the first).</summary>
    public long Iteration => Volatile.Read(ref _iteration);

    /// <summary>Counts entries into and exits from blocking calls: odd while inside one; unchanged while nothing happens.</summary>
    public long Waits => Volatile.Read(ref _waits);

    /// <summary>The loop starts total iteration <paramref name="total"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Starting(long total) => _iteration = total;

    /// <summary>The rank enters a call that waits for other ranks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EnterWait() => _waits++;

    /// <summary>The rank leaves that call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void LeaveWait() => _waits++;
}
