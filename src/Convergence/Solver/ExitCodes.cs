namespace Convergence.Solver;

/// <summary>The job's exit codes, as documented in the README.</summary>
public static class ExitCodes
{
    /// <summary>Converged, or stopped cleanly on request.</summary>
    public const int Success = 0;

    /// <summary>A rank failed (exception, MPI error); the job was aborted.</summary>
    public const int Failed = 1;

    /// <summary>Bad command line or environment; nothing ran.</summary>
    public const int Usage = 2;

    /// <summary>Aborted on request (<c>ABORT</c>).</summary>
    public const int Aborted = 3;

    /// <summary>The iteration limit was reached without convergence.</summary>
    public const int IterationLimit = 4;

    /// <summary>The residual became NaN or infinite.</summary>
    public const int Diverged = 5;

    /// <summary>The residual stopped improving before the tolerance (<c>--stagnation</c>).</summary>
    public const int Stagnated = 6;

    /// <summary>The exit code for an outcome.</summary>
    public static int For(RunOutcome outcome) => outcome switch
    {
        RunOutcome.Converged or RunOutcome.Stopped => Success,
        RunOutcome.Aborted => Aborted,
        RunOutcome.IterationLimit => IterationLimit,
        RunOutcome.Diverged => Diverged,
        RunOutcome.Stagnated => Stagnated,
        _ => Failed,
    };
}
