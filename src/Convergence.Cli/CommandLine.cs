using Convergence.Cli.Commands;

namespace Convergence.Cli;

/// <summary>The <c>convergence</c> tool's dispatcher: the first argument names a command.</summary>
internal static class CommandLine
{
    /// <summary>Command name → (one-line summary, entry point returning the exit code).</summary>
    private static readonly SortedDictionary<string, (string Summary, Func<string[], int> Run)> Commands = new(StringComparer.Ordinal)
    {
        [NotifyCommand.Name] = (NotifyCommand.Summary, NotifyCommand.Run),
        [StatusCommand.Name] = (StatusCommand.Summary, StatusCommand.Run),
        ["portal"] = (PortalCommand.Summary, PortalCommand.Run),
    };

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            Console.Out.WriteLine("Usage: convergence <command> [options]\n\nCommands:");
            foreach (var (name, (summary, _)) in Commands)
            {
                Console.Out.WriteLine($"  {name,-10} {summary}");
            }

            Console.Out.WriteLine("\nRun 'convergence <command> --help' for a command's options.");
            return args.Length == 0 ? 2 : 0;
        }

        if (!Commands.TryGetValue(args[0], out var command))
        {
            Console.Error.WriteLine($"convergence: unknown command '{args[0]}'; run 'convergence --help' for the list");
            return 2;
        }

        return command.Run(args[1..]);
    }
}
