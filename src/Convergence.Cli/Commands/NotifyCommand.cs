using System.CommandLine;
using System.Text;
using Convergence.FileSystem;

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
    public const string Summary = "Send messages (STOP, CHECKPOINT, CHANGE_TOLERANCE 1e-8, ...) to a running job: each plus a newline, all in one atomic append to its notifications.txt, as the SemWES service does. Exit codes: 0 sent, 1 error, 2 bad command line or notifications.txt is not a regular file (a symbolic link, a FIFO; nothing sent).";

    /// <summary>The command for the tool's parser; its action appends the messages.</summary>
    public static Command Create(Func<string, string?> environment)
    {
        var service = ServiceFolderOption.Create();
        var messages = new Argument<string[]>("message")
        {
            Description = "A command for the job, e.g. STOP, CHECKPOINT, \"CHANGE_TOLERANCE 1e-8\". Quote a message that contains spaces; put '--' before a message that starts with '-'.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command(Name, Summary) { service, messages };
        command.Validators.Add(result =>
        {
            var given = result.GetValue(messages) ?? [];
            if (given.Length == 0)
            {
                result.AddError("no message given");
                return;
            }

            var empty = Array.FindIndex(given, m => m.Trim().Length == 0);
            if (empty >= 0)
            {
                result.AddError($"message {empty + 1} is empty");
            }
        });
        command.SetAction(parsed => Run(parsed.GetValue(messages) ?? [], parsed.GetValue(service), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error, environment));
        return command;
    }

    /// <summary>Appends <paramref name="messages"/> (already checked by the parser); returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> messages, string? serviceOption, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        string folder;
        try
        {
            folder = ServiceFolderOption.Resolve(serviceOption, environment);
        }
        catch (CliUsageException ex)
        {
            stderr.WriteLine($"convergence notify: {ex.Message}; run 'convergence notify --help' for usage");
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
        catch (NotARegularFileException ex)
        {
            // Someone replaced the file the job reads: the command was fine, the path is not; send nothing.
            stderr.WriteLine($"convergence notify: {ex.Message}; nothing was sent");
            return ExitCode.Refused;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"convergence notify: {ex.Message}");
            return ExitCode.Error;
        }

        stdout.WriteLine(messages.Count == 1 ? $"sent 1 message to {file}" : $"sent {messages.Count} messages to {file}");
        return ExitCode.Ok;
    }
}
