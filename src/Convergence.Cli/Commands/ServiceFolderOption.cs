namespace Convergence.Cli.Commands;

/// <summary>Parses the options shared by the commands that talk to one job's service folder.</summary>
internal static class ServiceFolderOption
{
    /// <summary>The environment variable the job and the tools share.</summary>
    public const string EnvironmentVariable = "CONVERGENCE_SERVICE_DIR";

    /// <summary>The folder named on the command line, else in the environment, else <c>/service</c>.</summary>
    public static string Resolve(string? fromCommandLine, Func<string, string?> environment)
    {
        var folder = fromCommandLine;
        if (folder is null)
        {
            var fromEnvironment = environment(EnvironmentVariable);
            folder = string.IsNullOrWhiteSpace(fromEnvironment) ? Convergence.Control.RunOptions.DefaultServiceDirectory : fromEnvironment;
        }

        if (string.IsNullOrWhiteSpace(folder))
        {
            throw new CliUsageException("--service needs a folder, got an empty value");
        }

        return folder;
    }

    /// <summary>
    /// Reads <c>--service DIR</c> or <c>--service=DIR</c> at <paramref name="index"/>; true when the argument was
    /// that option (and <paramref name="index"/> now points at its last token).
    /// </summary>
    public static bool TryRead(IReadOnlyList<string> args, ref int index, ref string? folder)
    {
        var arg = args[index];
        if (arg == "--service")
        {
            if (index + 1 >= args.Count)
            {
                throw new CliUsageException("--service needs a folder");
            }

            folder = args[++index];
            return true;
        }

        if (arg.StartsWith("--service=", StringComparison.Ordinal))
        {
            folder = arg["--service=".Length..];
            return true;
        }

        return false;
    }

    /// <summary>True for <c>-h</c>, <c>--help</c> and <c>-?</c>, the .NET tools' help switches.</summary>
    public static bool IsHelp(string arg) => arg is "-h" or "--help" or "-?";
}
