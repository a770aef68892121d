using Convergence.Commands;

namespace Convergence.Intake;

/// <summary>An accepted command waiting on rank 0 for the next sync boundary.</summary>
/// <param name="Sequence">Its journal sequence number.</param>
/// <param name="Command">The parsed command.</param>
public sealed record PendingCommand(long Sequence, ControlCommand Command);
