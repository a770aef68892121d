
namespace Convergence.Options;

/// <summary>A user-supplied setting is wrong; the message is one line saying which and what to do.</summary>
public sealed class OptionsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OptionsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public OptionsException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public OptionsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>True when the message already says what to do (e.g. "did you mean --cells?"), so no "see --help" is added.</summary>
    internal bool SaysWhatToDo { get; init; }
}
