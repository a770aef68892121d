namespace Convergence.Commands;

/// <summary>A parsed, validated command, identical on every rank once it has been distributed.</summary>
/// <param name="Kind">What the command asks for.</param>
/// <param name="Value">
/// The numeric argument: the new tolerance, or for a custom command with a typed
/// <see cref="CustomCommand.Argument"/> the parsed number, the whole number, or the index of the chosen word
/// in <see cref="CommandArgument.Choices"/>; 0 where the command has none.
/// </param>
/// <param name="Name">The canonical upper-case command name (for custom commands the registered name).</param>
/// <param name="Arguments">
/// The argument text after the name, trimmed; empty where there is none. For a typed choice, the word as declared.
/// </param>
/// <param name="ClientId">The optional <c>#id</c> the sender attached, without the <c>#</c>.</param>
public sealed record ControlCommand(CommandKind Kind, double Value, string Name, string Arguments, string? ClientId)
{
    /// <summary>A typed custom command's whole number (<see cref="ArgumentKind.WholeNumber"/>): <see cref="Value"/>, exact up to ±2^53.</summary>
    public long WholeNumber => (long)Value;

    /// <summary>The command as a user would type it, without the <c>#id</c>.</summary>
    public override string ToString() => Arguments.Length == 0 ? Name : $"{Name} {Arguments}";
}
