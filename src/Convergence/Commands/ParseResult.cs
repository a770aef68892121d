namespace Convergence.Commands;

/// <summary>The outcome of parsing one line: a command, a rejection, or a blank line.</summary>
/// <remarks>Exactly one of <see cref="Command"/> and <see cref="Rejection"/> is set unless the line was blank.</remarks>
public readonly record struct ParseResult(ControlCommand? Command, string? Rejection, string? ClientId)
{
    /// <summary>A blank line: nothing to do, nothing to record.</summary>
    public bool IsBlank => Command is null && Rejection is null;

    internal static ParseResult Blank => default;

    internal static ParseResult Accept(ControlCommand command) => new(command, null, command.ClientId);

    internal static ParseResult Reject(string reason, string? clientId) => new(null, reason, clientId);
}
