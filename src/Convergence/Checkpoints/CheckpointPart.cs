namespace Convergence.Checkpoints;

/// <summary>One rank's file in a checkpoint, as the manifest names it.</summary>
/// <param name="Rank">The rank that wrote it (and the only one that reads it back).</param>
/// <param name="FileName">The file name inside the checkpoint folder.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="Sha256">Its SHA-256, lower-case hex.</param>
public sealed record CheckpointPart(int Rank, string FileName, long Length, string Sha256);
