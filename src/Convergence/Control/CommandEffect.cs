using Convergence.Journal;
using Convergence.Solver;

namespace Convergence.Control;

/// <summary>What applying one command did, the same on every rank.</summary>
/// <param name="Outcome">The run ends with this outcome (ABORT, STOP); null when it goes on.</param>
/// <param name="Message">Why the run ended, for the result; null when it goes on.</param>
/// <param name="Note">The journal's note for an applied command (the new tolerance, the checkpoint written).</param>
/// <param name="Declined">Why the command was not applied; null when it was.</param>
/// <param name="Restarted">The solver's state was replaced (RESTART, a restored checkpoint): the stale residual is not judged.</param>
internal readonly record struct CommandEffect(RunOutcome? Outcome, string? Message, string? Note, string? Declined, bool Restarted)
{
    /// <summary>Nothing to apply (a rank other than 0 received an empty packet, or the queue was empty).</summary>
    public static CommandEffect None => default;

    /// <summary>Applied, with a note.</summary>
    public static CommandEffect Applied(string? note, bool restarted = false) => new(null, null, note, null, restarted);

    /// <summary>Applied, and the run ends.</summary>
    public static CommandEffect Ends(RunOutcome outcome, string message, string? note = null) => new(outcome, message, note, null, false);

    /// <summary>Not applied, with the reason.</summary>
    public static CommandEffect Refused(string reason) => new(null, null, null, reason, false);

    /// <summary>Writes the journal's line for it: applied at the iteration, or declined with the reason.</summary>
    public void Record(CommandJournal journal, long sequence, long iteration, long totalIteration)
    {
        if (Declined is not null)
        {
            journal.Declined(sequence, Declined);
        }
        else
        {
            journal.Applied(sequence, iteration, totalIteration, Note);
        }
    }
}
