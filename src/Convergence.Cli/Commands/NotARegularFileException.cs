namespace Convergence.Cli.Commands;

/// <summary>
/// The path <see cref="AtomicAppend"/> was asked to append to is a symbolic link, a FIFO, a directory or
/// anything else that is not a regular file; nothing was written.
/// </summary>
internal sealed class NotARegularFileException : IOException
{
    /// <summary>Creates the exception with its one-line <paramref name="message"/>.</summary>
    public NotARegularFileException(string message)
        : base(message)
    {
    }
}
