namespace Convergence.Journal;

/// <summary>Where a message stands.</summary>
public enum JournalState
{
    /// <summary>Accepted and waiting for the next sync boundary.</summary>
    Received,

    /// <summary>Applied on every rank at <see cref="JournalEntry.AppliedIteration"/>.</summary>
    Applied,

    /// <summary>Not applied; <see cref="JournalEntry.Reason"/> says why.</summary>
    Rejected,
}
