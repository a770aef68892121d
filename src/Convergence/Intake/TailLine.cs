namespace Convergence.Intake;

/// <summary>One complete line from the notifications file: its text, or why it could not be read as text.</summary>
/// <param name="Text">The line without its terminator, decoded as UTF-8; <see langword="null"/> when rejected.</param>
/// <param name="Rejection">Why the bytes are not a message (too long, invalid UTF-8, NUL bytes); else <see langword="null"/>.</param>
/// <param name="Preview">
/// For a rejected line, its beginning made safe to show (decoded leniently, control characters replaced,
/// shortened); else <see langword="null"/>.
/// </param>
public readonly record struct TailLine(string? Text, string? Rejection, string? Preview = null);
