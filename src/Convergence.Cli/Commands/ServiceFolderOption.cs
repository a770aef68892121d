using System.CommandLine;

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
            folder = string.IsNullOrWhiteSpace(fromEnvironment) ? Convergence.Options.RunOptions.DefaultServiceDirectory : fromEnvironment;
        }

        if (string.IsNullOrWhiteSpace(folder))
        {
            throw new CliUsageException("--service needs a folder, got an empty value");
        }

        return folder;
    }

    /// <summary>The <c>--service &lt;dir&gt;</c> option shared by the commands (a new instance per command).</summary>
    public static Option<string?> Create() => new("--service")
    {
        Description = $"The job's service folder [default: ${EnvironmentVariable}, else {Convergence.Options.RunOptions.DefaultServiceDirectory}].",
        HelpName = "dir",
        Arity = ArgumentArity.ExactlyOne,
    };
}
