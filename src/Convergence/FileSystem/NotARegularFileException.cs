namespace Convergence.FileSystem;

/// <summary>
/// An entry was not what the caller may use: a symbolic link, a FIFO, a folder where a file belongs, or a
/// file where a folder belongs. Refused rather than followed or opened.
/// </summary>
public sealed class NotARegularFileException : IOException
{
    /// <summary>With the one-line reason.</summary>
    public NotARegularFileException(string message)
        : base(message)
    {
    }

    /// <summary>With the one-line reason and its cause.</summary>
    public NotARegularFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Without a message (for serialisers and analysers).</summary>
    public NotARegularFileException()
    {
    }
}
