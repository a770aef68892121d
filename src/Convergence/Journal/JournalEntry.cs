namespace Convergence.Journal;

/// <summary>One message as the journal saw it; an immutable copy, safe to hand to other threads.</summary>
/// <param name="Sequence">Arrival order, from 1.</param>
/// <param name="Text">The message as received (trimmed, shortened if very long).</param>
/// <param name="ClientId">The sender's <c>#id</c>, if any.</param>
/// <param name="ReceivedAt">When rank 0 read it.</param>
/// <param name="State">Where it stands.</param>
/// <param name="AppliedIteration">The iteration (since the last restart) at which every rank applied it.</param>
/// <param name="AppliedTotalIteration">The same, counted over the whole run.</param>
/// <param name="Reason">Why it was rejected, or a note on how it was applied.</param>
public sealed record JournalEntry(
    long Sequence,
    string Text,
    string? ClientId,
    DateTimeOffset ReceivedAt,
    JournalState State,
    long? AppliedIteration,
    long? AppliedTotalIteration,
    string? Reason);
