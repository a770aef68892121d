namespace Convergence.Solver;

/// <summary>The end of a run, identical on every rank.</summary>
/// <param name="Outcome">How the run ended.</param>
/// <param name="Iteration">Iterations since the last (re)start when it ended.</param>
/// <param name="TotalIterations">Iterations over the whole run, restarts included.</param>
/// <param name="Residual">The last global residual.</param>
/// <param name="Tolerance">The tolerance in force at the end.</param>
/// <param name="Elapsed">Wall time of the loop.</param>
/// <param name="Restarts">How many restarts happened.</param>
/// <param name="Message">Extra detail: which command ended the run, the error of a failure.</param>
public sealed record RunResult(
    RunOutcome Outcome,
    long Iteration,
    long TotalIterations,
    double Residual,
    double Tolerance,
    TimeSpan Elapsed,
    int Restarts,
    string? Message)
{
    /// <summary>Why the run stopped, for <see cref="RunOutcome.Stopped"/>; <see cref="StopCause.None"/> otherwise.</summary>
    public StopCause StopCause { get; init; }

    /// <summary>Total iterations when the run began: 0, or the iteration of the checkpoint a resumed job started from.</summary>
    public long StartTotalIterations { get; init; }

    /// <summary>The time the loop spent paused (<c>PAUSE</c> to <c>RESUME</c>); part of <see cref="Elapsed"/>.</summary>
    public TimeSpan Paused { get; init; }

    /// <summary>The process exit code documented in the README for this outcome.</summary>
    public int ExitCode => ExitCodes.For(Outcome);
}
