namespace Convergence.Cli;

/// <summary>The tool's exit codes.</summary>
internal static class CliExit
{
    /// <summary>Done.</summary>
    public const int Success = 0;

    /// <summary>The command could not do its work (e.g. the port is taken, the folder is not writable).</summary>
    public const int Failure = 1;

    /// <summary>Bad command line; the message says what was wrong.</summary>
    public const int Usage = 2;
}
