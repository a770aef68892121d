namespace Convergence.Testing;

/// <summary>An <see cref="MpiHarness"/> job could not run or failed: MPI is not installed, or the job ended with an error.</summary>
public sealed class MpiHarnessException : Exception
{
    /// <summary>Creates the exception with no detail.</summary>
    public MpiHarnessException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public MpiHarnessException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public MpiHarnessException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a job that ended with <paramref name="exitCode"/>.</summary>
    /// <param name="message">What went wrong, with the ranks' standard error.</param>
    /// <param name="exitCode">The launcher's exit code.</param>
    /// <param name="output">The launcher's standard output and error.</param>
    public MpiHarnessException(string message, int exitCode, string output)
        : base(message)
    {
        ExitCode = exitCode;
        Output = output;
    }

    /// <summary>The launcher's exit code; null when the job did not start.</summary>
    public int? ExitCode { get; }

    /// <summary>The launcher's standard output and error (the ranks' included); empty when the job did not start.</summary>
    public string Output { get; } = string.Empty;
}
