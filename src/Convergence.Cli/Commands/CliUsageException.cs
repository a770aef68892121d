namespace Convergence.Cli.Commands;

/// <summary>The command line itself is wrong (exit code 2); the message is the one line shown to the user.</summary>
internal sealed class CliUsageException : Exception
{
    /// <summary>Creates the exception with its one-line message.</summary>
    public CliUsageException(string message)
        : base(message)
    {
    }
}
