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

    /// <summary>
    /// The path to write is not a regular file (a symbolic link or FIFO planted in the service folder); nothing
    /// was done. The same code as <see cref="Usage"/>: in both cases repeating the command as it is cannot help.
    /// </summary>
    public const int Refused = 2;
}
