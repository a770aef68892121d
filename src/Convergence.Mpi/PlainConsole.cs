namespace Convergence.Mpi;

/// <summary>
/// Keeps the job's log free of terminal control sequences. Open MPI's launcher gives every rank a
/// pseudo-terminal as standard output; .NET then takes the console for an interactive terminal and,
/// on first use, writes the terminfo "keypad transmit" string (<c>ESC[?1h ESC=</c> for xterm) to it,
/// which ends up at the top of each rank's log.
/// </summary>
/// <remarks>
/// A job never reads keys, so the framework removes <c>TERM</c> from the process's managed environment
/// before the console is first used: .NET then loads no terminfo and writes nothing but the text. The
/// native environment (what MPI and child processes of the library see) is left as it is.
/// </remarks>
internal static class PlainConsole
{
    /// <summary>Call before the first console output.</summary>
    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable("TERM") is not null)
        {
            Environment.SetEnvironmentVariable("TERM", null);
        }
    }
}
