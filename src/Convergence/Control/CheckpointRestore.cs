namespace Convergence.Control;

/// <summary>The answer to <c>RESTART checkpoint</c>, the same on every rank.</summary>
/// <param name="Restored">Whether a checkpoint was loaded (else the command is declined and the run goes on unchanged).</param>
/// <param name="Note">What was loaded, or the one-line reason nothing was.</param>
public readonly record struct CheckpointRestore(bool Restored, string Note);
