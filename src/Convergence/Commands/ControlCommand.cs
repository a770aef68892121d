namespace Convergence.Commands;

/// <summary>A parsed, validated command, identical on every rank once it has been distributed.</summary>
/// <param name="Kind">What the command asks for.</param>
/// <param name="Value">The numeric argument (the new tolerance); 0 where the command has none.</param>
/// <param name="Name">The canonical upper-case command name (for custom commands the registered name).</param>
/// <param name="Arguments">The argument text after the name, trimmed; empty where there is none.</param>
/// <param name="ClientId">The optional <c>#id</c> the sender attached, without the <c>#</c>.</param>
public sealed record ControlCommand(CommandKind Kind, double Value, string Name, string Arguments, string? ClientId)
{
    /// <summary>The command as a user would type it, without the <c>#id</c>.</summary>
    public override string ToString() => Arguments.Length == 0 ? Name : $"{Name} {Arguments}";
}
