using System.Text;

namespace Convergence.Cli.Commands;

/// <summary>
/// <c>convergence notify [--service DIR] MESSAGE…</c>: steers a running job from the login node the way
/// the portal's buttons do, by appending each message plus <c>\n</c> to the job's <c>notifications.txt</c>.
/// </summary>
/// <remarks>
/// All messages of one call go out in ONE append, so they arrive together and in order, and a job that
/// reads the file meanwhile sees either none of them or all of them.
/// </remarks>
internal static class NotifyCommand
{
    /// <summary>The command's name on the command line.</summary>
    public const string Name = "notify";

    /// <summary>One line for the tool's command list.</summary>
    public const string Summary = "Send messages (STOP, CHECKPOINT, CHANGE_TOLERANCE 1e-8, ...) to a running job.";

    private const string Help = """
        Usage: convergence notify [options] [--] <message>...

        Appends each message plus a newline to the job's notifications.txt in one atomic append,
        exactly as the SemWES service does when a button on the status page is clicked.

        Arguments:
          <message>         A command for the job, e.g. STOP, CHECKPOINT, "CHANGE_TOLERANCE 1e-8".
                            Quote a message that contains spaces; put '--' before a message that
                            starts with '-'.

        Options:
          --service <dir>   The job's service folder [default: $CONVERGENCE_SERVICE_DIR, else /service].
          -h, --help        Show help and usage information.

        Exit codes: 0 appended, 1 error (folder missing, not writable), 2 bad command line.
        """;

    /// <summary>Runs the command with the process's console and environment.</summary>
    public static int Run(IReadOnlyList<string> args) =>
        Run(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable);

    /// <summary>Runs the command; returns the process exit code.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        string? serviceOption = null;
        var messages = new List<string>();
        string folder;
        try
        {
            var optionsEnded = false;
            for (var i = 0; i < args.Count; i++)
            {
                var arg = args[i];
                if (optionsEnded || arg == "-" || !arg.StartsWith('-'))
                {
                    messages.Add(arg);
                }
                else if (arg == "--")
                {
                    optionsEnded = true;
                }
                else if (ServiceFolderOption.IsHelp(arg))
                {
                    stdout.Write(HelpText());
                    return ExitCode.Ok;
                }
                else if (!ServiceFolderOption.TryRead(args, ref i, ref serviceOption))
                {
                    throw new CliUsageException($"unknown option '{arg}' (a message that starts with '-' goes after '--')");
                }
            }

            if (messages.Count == 0)
            {
                throw new CliUsageException("no message given");
            }

            var empty = messages.FindIndex(m => m.Trim().Length == 0);
            if (empty >= 0)
            {
                throw new CliUsageException($"message {empty + 1} is empty");
            }

            folder = ServiceFolderOption.Resolve(serviceOption, environment);
        }
        catch (CliUsageException ex)
        {
            stderr.WriteLine($"convergence notify: {ex.Message}. Usage: convergence notify [--service DIR] MESSAGE... (see --help)");
            return ExitCode.Usage;
        }

        if (!Directory.Exists(folder))
        {
            stderr.WriteLine($"convergence notify: service folder '{folder}' does not exist; name the job's folder with --service or {ServiceFolderOption.EnvironmentVariable}");
            return ExitCode.Error;
        }

        var file = Path.Combine(folder, "notifications.txt");
        var text = new StringBuilder();
        foreach (var message in messages)
        {
            text.Append(message).Append('\n');
        }

        try
        {
            AtomicAppend.Write(file, Encoding.UTF8.GetBytes(text.ToString()));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"convergence notify: {ex.Message}");
            return ExitCode.Error;
        }

        stdout.WriteLine(messages.Count == 1 ? $"sent 1 message to {file}" : $"sent {messages.Count} messages to {file}");
        return ExitCode.Ok;
    }

    private static string HelpText() => Help + "\n";
}
