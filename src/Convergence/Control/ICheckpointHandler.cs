namespace Convergence.Control;

/// <summary>How a <see cref="ControlLoop"/> writes and reads checkpoints; every member is collective (all ranks, same iteration).</summary>
public interface ICheckpointHandler
{
    /// <summary>
    /// Writes a checkpoint of the state at <paramref name="state"/>; <paramref name="reason"/> is <c>command</c>,
    /// <c>periodic</c>, <c>signal</c>, <c>stop</c>, <c>signal stop</c>, <c>advance signal</c> or <c>deadline</c>.
    /// Returns a note for the journal and the stop message.
    /// </summary>
    string Write(ControlLoopState state, string reason);

    /// <summary>
    /// For <c>RESTART checkpoint [ID]</c>: loads the newest checkpoint that fits (or the one numbered
    /// <paramref name="only"/>) into the solver and <paramref name="state"/>, or says why it cannot.
    /// </summary>
    CheckpointRestore Restore(ControlLoopState state, long? only = null);

    /// <summary>At the start of a resumed job, after the solver's initialisation: loads the newest checkpoint that fits; returns a note for the log.</summary>
    string ResumeAtStart(ControlLoopState state);
}
