namespace Convergence.Journal;

/// <summary>
/// Changes of one setting that <see cref="ChangeRecord"/> no longer keeps one by one (the oldest, past its
/// capacity): how many, from which value to which, between which iterations and times.
/// </summary>
/// <param name="Setting">The setting.</param>
/// <param name="Count">How many changes this summary stands for.</param>
/// <param name="FirstOldValue">The value before the first of them.</param>
/// <param name="LastNewValue">The value after the last of them.</param>
/// <param name="FirstTotalIteration">The total iteration of the first.</param>
/// <param name="LastTotalIteration">The total iteration of the last.</param>
/// <param name="FirstAt">When the first was applied.</param>
/// <param name="LastAt">When the last was applied.</param>
public sealed record ChangeSummary(string Setting, long Count, string? FirstOldValue, string LastNewValue, long FirstTotalIteration, long LastTotalIteration, DateTimeOffset FirstAt, DateTimeOffset LastAt);
