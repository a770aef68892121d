using Convergence.Cli.Commands;

namespace Convergence.Cli;

/// <summary>The <c>convergence</c> tool: maps the first argument to a command.</summary>
internal static class Program
{
    // One line per command keeps adding a command a one-line change.
    private static readonly ICliCommand[] Commands =
    [
        new PortalCommand(),
    ];

    private static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            Console.Out.WriteLine("usage: convergence COMMAND [options]   (convergence COMMAND --help for its options)");
            foreach (var c in Commands)
            {
                Console.Out.WriteLine($"  {c.Name,-10} {c.Summary}");
            }

            return args.Length == 0 ? CliExit.Usage : CliExit.Success;
        }

        var command = Array.Find(Commands, c => c.Name == args[0]);
        if (command is null)
        {
            Console.Error.WriteLine($"convergence: unknown command '{args[0]}'; known: {string.Join(", ", Commands.Select(c => c.Name))}");
            return CliExit.Usage;
        }

        return command.Run(args[1..]);
    }
}
