
namespace Convergence.Control;

/// <summary>The loop's counters, identical on every rank; handed to checkpoint handlers.</summary>
public sealed class ControlLoopState
{
    /// <summary>Iterations since the last (re)start.</summary>
    public long Iteration { get; set; }

    /// <summary>Iterations over the whole run.</summary>
    public long TotalIterations { get; set; }

    /// <summary>The tolerance in force.</summary>
    public double Tolerance { get; set; }

    /// <summary>The latest global residual.</summary>
    public double Residual { get; set; }

    /// <summary>Restarts so far.</summary>
    public int Restarts { get; set; }
}
