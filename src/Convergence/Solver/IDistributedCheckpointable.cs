namespace Convergence.Solver;

/// <summary>
/// A checkpointable solver whose state is (mostly) global arrays split over the ranks: it declares them, the
/// framework saves and restores them, and a checkpoint can be loaded on another rank count
/// (<c>--resume</c>, <c>RESTART checkpoint</c>): each rank reads exactly its new slice from the parts that hold it.
/// </summary>
/// <remarks>
/// <see cref="ICheckpointable.WriteCheckpoint"/> and <see cref="ICheckpointable.ReadCheckpoint"/> still run,
/// for the free-form rest of the state (counters, a method flag), after the arrays: the framework writes it
/// behind the arrays in each rank's part. That rest must be the same on every rank (or needed on rank 0
/// only): when the rank count changes, every new rank reads old rank 0's. On the same rank count each rank
/// reads its own, as before. A solver whose free-form state differs between ranks implements only
/// <see cref="ICheckpointable"/> and resumes on the same rank count only.
/// </remarks>
public interface IDistributedCheckpointable : ICheckpointable
{
    /// <summary>
    /// This rank's share of every global array, in the same order and with the same names, types and global
    /// shapes on every rank. Asked for at each checkpoint and each load, after
    /// <see cref="IIterativeSolver.Initialize"/>; on a load, the framework fills the memory, then calls
    /// <see cref="ICheckpointable.ReadCheckpoint"/>. Cells a rank keeps beside its slice (ghost or halo
    /// copies) are not part of it: the solver refreshes them in its next iteration.
    /// </summary>
    IReadOnlyList<CheckpointArray> CheckpointArrays { get; }
}
