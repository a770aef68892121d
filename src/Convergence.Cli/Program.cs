using Convergence.Cli.Commands;

// Tiny name → command dispatch; each command parses its own options and returns the exit code.
return args switch
{
    [NotifyCommand.Name, .. var rest] => NotifyCommand.Run(rest),
    [StatusCommand.Name, .. var rest] => StatusCommand.Run(rest),
    [] or ["-h" or "--help" or "-?"] => Usage(Console.Out, 0),
    _ => Unknown(args[0]),
};

static int Usage(TextWriter writer, int code)
{
    writer.WriteLine("Usage: convergence <command> [options]");
    writer.WriteLine();
    writer.WriteLine("Commands:");
    writer.WriteLine($"  {NotifyCommand.Name,-8}{NotifyCommand.Summary}");
    writer.WriteLine($"  {StatusCommand.Name,-8}{StatusCommand.Summary}");
    writer.WriteLine();
    writer.WriteLine("Run 'convergence <command> --help' for a command's options.");
    return code;
}

static int Unknown(string name)
{
    Console.Error.WriteLine($"convergence: unknown command '{name}'. Run 'convergence --help' for the list of commands.");
    return 2;
}
