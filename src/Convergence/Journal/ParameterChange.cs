namespace Convergence.Journal;

/// <summary>One applied change of a steerable setting; an immutable copy, safe to hand to other threads.</summary>
/// <param name="Setting">What changed: <c>tolerance</c>, or a solver command's name such as <c>RELAXATION</c>.</param>
/// <param name="OldValue">The value before, as text; null when neither the solver nor this run's record knew it.</param>
/// <param name="NewValue">The value after, as text.</param>
/// <param name="Iteration">The iteration (since the last restart) after which every rank applied it.</param>
/// <param name="TotalIteration">The same, counted over the whole run (across resumes and chained links).</param>
/// <param name="At">When it was applied (UTC).</param>
/// <param name="ClientId">The <c>#id</c> of the message that asked for it; null when it had none.</param>
/// <param name="Sequence">The message's journal sequence (in the job that applied it).</param>
public sealed record ParameterChange(string Setting, string? OldValue, string NewValue, long Iteration, long TotalIteration, DateTimeOffset At, string? ClientId, long Sequence);
