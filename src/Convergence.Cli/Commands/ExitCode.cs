namespace Convergence.Cli.Commands;

/// <summary>The tool's exit codes (the job's own codes are in <c>Convergence.Solver.ExitCodes</c>).</summary>
internal static class ExitCode
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command line was fine but the work failed (missing folder, unreadable file).</summary>
    public const int Error = 1;

    /// <summary>The command line was wrong; nothing was done.</summary>
    public const int Usage = 2;
}
