namespace Convergence.Examples.AbortableWaiter;

/// <summary>The waiter's options (see <see cref="Waiter.Table"/>).</summary>
public sealed record WaiterOptions
{
    /// <summary>Steps to wait.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>Length of one step in milliseconds.</summary>
    public double StepMilliseconds { get; init; } = 1000;
}
