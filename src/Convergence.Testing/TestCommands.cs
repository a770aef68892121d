using Convergence.Commands;

namespace Convergence.Testing;

/// <summary>Commands for a solver's unit tests, made from their text as the framework's parser makes them on rank 0.</summary>
public static class TestCommands
{
    /// <summary>
    /// Parses one line as the notifications file would deliver it (<c>AMBIENT 2</c>, <c>CHANGE_TOLERANCE 1e-8
    /// #t1</c>): the same names, argument rules and custom-command validation as in a running job.
    /// </summary>
    /// <param name="line">The line, without its newline.</param>
    /// <param name="customCommands">The solver's own commands (<c>solver.Commands</c>); none for the built-in ones only.</param>
    /// <returns>The command a solver's <c>ApplyCommand</c> would get.</returns>
    /// <exception cref="ArgumentException">The line is blank, or the parser rejects it (the message gives the job's reason).</exception>
    public static ControlCommand Parse(string line, IEnumerable<CustomCommand>? customCommands = null)
    {
        ArgumentNullException.ThrowIfNull(line);
        var result = new CommandParser(customCommands).Parse(line);
        if (result.Command is { } command)
        {
            return command;
        }

        throw new ArgumentException(result.IsBlank ? "the line is blank: a job ignores it" : $"the job would reject '{line}': {result.Rejection}", nameof(line));
    }
}
