namespace Convergence.Solver;

/// <summary>
/// Optional for an <see cref="IIterativeSolver"/>: the solver can save and restore this rank's state, so the
/// framework can write checkpoints (<c>CHECKPOINT</c>, periodic, on <c>STOP</c>, on a signal or before a
/// deadline), roll back (<c>RESTART checkpoint</c>) and resume a new job (<c>--resume</c>).
/// </summary>
/// <remarks>
/// The framework owns the files: naming, the temporary file, the flush to disk, the rename, the checksums
/// and the manifest. It also saves what it owns itself (iteration counts, tolerance, residual, restarts).
/// Both methods are called on every rank at the same iteration boundary, on the thread that runs the loop.
/// <see cref="ReadCheckpoint"/> is called after <see cref="IIterativeSolver.Initialize"/> and must replace the
/// whole iteration state with what <see cref="WriteCheckpoint"/> wrote on the same rank; it only ever sees a
/// stream whose length and SHA-256 the framework has verified. Neither method may call collectives.
/// </remarks>
public interface ICheckpointable
{
    /// <summary>Writes this rank's state to <paramref name="stream"/> (write-only, not seekable). Disposing it is allowed.</summary>
    void WriteCheckpoint(Stream stream);

    /// <summary>Replaces this rank's state with the content of <paramref name="stream"/> (read-only).</summary>
    void ReadCheckpoint(Stream stream);

    /// <summary>
    /// What a checkpoint must have been written with to be loaded into this solver: the grid, the parameters
    /// that shape the state, the format of the parts (for example <c>poisson-2d grid=128x128 format=1</c>).
    /// One line, the same on every rank (it describes the job, not this rank's share). The framework stores
    /// it in the manifest and loads a checkpoint only when the key matches on every rank and the rank count
    /// matches; a checkpoint written with another key is declined before any rank reads it.
    /// </summary>
    /// <remarks>
    /// The default, an empty key, makes the solver's <see cref="IIterativeSolver.Name"/> the key: enough to
    /// keep another solver's checkpoints out, not enough to tell two grids apart, so a solver whose state
    /// depends on its options should say so here.
    /// </remarks>
    string CompatibilityKey => string.Empty;
}
