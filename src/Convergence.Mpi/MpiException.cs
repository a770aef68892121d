namespace Convergence.Mpi;

/// <summary>An MPI call returned an error code; <see cref="ErrorCode"/> keeps the raw value.</summary>
public sealed class MpiException : Exception
{
    /// <summary>Creates the exception for <paramref name="call"/> returning <paramref name="errorCode"/>.</summary>
    public MpiException(string call, int errorCode)
        : base($"{call} failed with MPI error code {errorCode}")
    {
        ErrorCode = errorCode;
    }

    /// <summary>Creates the exception.</summary>
    public MpiException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public MpiException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public MpiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The MPI error code.</summary>
    public int ErrorCode { get; }

    internal static void Check(int code, string call)
    {
        if (code != 0)
        {
            throw new MpiException(call, code);
        }
    }
}
