using System.CommandLine;
using System.CommandLine.Parsing;
using Convergence.Cli.Commands;

namespace Convergence.Cli;

/// <summary>
/// The <c>convergence</c> tool's command line on System.CommandLine: the .NET tools' help layout
/// (<c>-h</c>, <c>--help</c>, <c>-?</c>), its parse errors, plus a suggestion for a mistyped name. A bad
/// command line is one line on stderr and exit code 2; nothing runs.
/// </summary>
internal static class CommandLine
{
    /// <summary>The tool's commands; a new command is one more entry here.</summary>
    public static Command Create(Func<string, string?> environment) =>
        // A plain root named after the command (a RootCommand takes the assembly's name, Convergence.Cli).
        new("convergence", "Steer and watch Convergence jobs: the SemWES portal's messages, status and page from a terminal.")
        {
            new System.CommandLine.Help.HelpOption { Recursive = true },
            new VersionOption(),
            NotifyCommand.Create(environment),
            StatusCommand.Create(environment),
            PortalCommand.Create(environment),
            CheckpointsCommand.Create(environment),
        };

    public static int Run(string[] args) => Run(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable);

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var root = Create(environment);
        if (args.Length == 0)
        {
            // No command: the list of commands, as before, but it is still a usage error.
            root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
            return ExitCode.Usage;
        }

        var parsed = root.Parse(args);
        var command = parsed.CommandResult.Command;
        var name = command == root ? "convergence" : $"convergence {command.Name}";
        var empty = EmptyInlineValue(args);
        if (empty is not null)
        {
            // "--service=" would make the parser take the next argument as the value.
            stderr.WriteLine($"{name}: option '{empty}' needs a value, got an empty one; run '{name} --help' for usage");
            return ExitCode.Usage;
        }

        var unknown = parsed.UnmatchedTokens.Count > 0 ? parsed.UnmatchedTokens[0] : UnknownOption(parsed);
        if (unknown is not null)
        {
            // A name nothing declares; the parser's own errors about it ("Required command was not
            // provided") say less than this.
            stderr.WriteLine($"{name}: Unrecognized command or argument '{unknown}'{Suggest(command, unknown)}; run '{name} --help' for usage");
            return ExitCode.Usage;
        }

        var valueless = parsed.CommandResult.Children.OfType<OptionResult>()
            .FirstOrDefault(o => !o.Implicit && o.Tokens.Count == 0 && o.Option.Arity.MinimumNumberOfValues > 0);
        if (valueless is not null)
        {
            // The parser lets a trailing "--service" pass as unset; that would silently use the default folder.
            stderr.WriteLine($"{name}: Required argument missing for option: '{valueless.Option.Name}'; run '{name} --help' for usage");
            return ExitCode.Usage;
        }

        if (parsed.Errors.Count > 0)
        {
            // Errors about an option's value before the command's own checks (e.g. "no message given").
            var error = parsed.Errors.FirstOrDefault(e => e.SymbolResult is OptionResult or ArgumentResult { Parent: OptionResult }) ?? parsed.Errors[0];
            stderr.WriteLine($"{name}: {error.Message.TrimEnd('.')}; run '{name} --help' for usage");
            return ExitCode.Usage;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    /// <summary>
    /// An argument that looks like an option but is none, before any <c>--</c>: the parser would take it as a
    /// message for <c>notify</c>, and a mistyped option must not be sent to a job.
    /// </summary>
    private static string? UnknownOption(ParseResult parsed)
    {
        foreach (var token in parsed.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                return null;
            }

            if (token.Type == TokenType.Argument && token.Value.Length > 1 && token.Value[0] == '-' && !IsOptionValue(parsed, token))
            {
                return token.Value;
            }
        }

        return null;
    }

    /// <summary>The option written as <c>--name=</c> with nothing after the '=', before any <c>--</c>; else null.</summary>
    private static string? EmptyInlineValue(string[] args)
    {
        foreach (var arg in args.TakeWhile(a => a != "--"))
        {
            if (arg.Length > 3 && arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=', StringComparison.Ordinal) == arg.Length - 1)
            {
                return arg[..^1];
            }
        }

        return null;
    }

    private static bool IsOptionValue(ParseResult parsed, Token token) =>
        parsed.CommandResult.Children.OfType<OptionResult>().Any(o => o.Tokens.Contains(token));

    /// <summary>", did you mean 'notify'?" when <paramref name="token"/> is a near miss of a command or option name.</summary>
    private static string Suggest(Command command, string? token)
    {
        if (token is null)
        {
            return string.Empty;
        }

        var names = command.Subcommands.Select(c => c.Name).Concat(command.Options.Select(o => o.Name));
        var best = names
            .Select(n => (Name: n, Distance: Distance(token, n)))
            .Where(c => c.Distance <= Math.Max(1, c.Name.Length / 3))
            .OrderBy(c => c.Distance)
            .FirstOrDefault();
        return best.Name is null ? string.Empty : $" (did you mean '{best.Name}'?)";
    }

    /// <summary>Levenshtein distance; names are short, so the quadratic table is fine.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            }
        }

        return d[a.Length, b.Length];
    }
}
