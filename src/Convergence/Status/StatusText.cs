using System.Globalization;
using Convergence.Journal;

namespace Convergence.Status;

/// <summary>How numbers, durations, states and journal entries read on the status page.</summary>
/// <remarks>Culture-independent: the page must look the same whatever the job's locale is.</remarks>
internal static class StatusText
{
    /// <summary>A residual or tolerance in short scientific notation (<c>1.234e-7</c>); a dash when unknown.</summary>
    public static string Scientific(double value)
    {
        if (double.IsNaN(value))
        {
            return "—";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "∞" : "-∞";
        }

        return value == 0 ? "0" : value.ToString("0.###e+0", CultureInfo.InvariantCulture);
    }

    /// <summary>A duration for people: <c>4.2 s</c>, <c>3 min 05 s</c>, <c>2 h 07 min</c>, <c>3 d 04 h</c>.</summary>
    public static string Duration(TimeSpan t)
    {
        if (t < TimeSpan.Zero)
        {
            t = TimeSpan.Zero;
        }

        if (t.TotalSeconds < 60)
        {
            return t.TotalSeconds.ToString(t.TotalSeconds < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " s";
        }

        if (t.TotalHours < 1)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes} min {t.Seconds:00} s");
        }

        return t.TotalDays < 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours} h {t.Minutes:00} min")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalDays} d {t.Hours:00} h");
    }

    /// <summary>An iteration rate: whole numbers from 100 up, one decimal below.</summary>
    public static string Rate(double perSecond) =>
        perSecond <= 0 || !double.IsFinite(perSecond)
            ? "—"
            : perSecond.ToString(perSecond >= 100 ? "#,0" : "0.0", CultureInfo.InvariantCulture);

    /// <summary>A whole number with thousands separators.</summary>
    public static string Count(long n) => n.ToString("#,0", CultureInfo.InvariantCulture);

    /// <summary>"paused at iteration 1,234 since 2026-12-03 18:00:00 UTC (resumes at 18:15:00 UTC)" for the page.</summary>
    public static string Paused(PauseInfo pause)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"paused at iteration {Count(pause.Iteration)} since {pause.Since.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");
        return pause.ResumesAt is { } at
            ? string.Create(CultureInfo.InvariantCulture, $"{text} (resumes at {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC)")
            : text + " (until Resume)";
    }

    /// <summary>The state as a lower-case word (also the CSS class suffix).</summary>
    public static string State(JobState state) => state switch
    {
        JobState.Starting => "starting",
        JobState.Running => "running",
        JobState.Converging => "converging",
        JobState.Converged => "converged",
        JobState.Stopped => "stopped",
        JobState.Aborted => "aborted",
        JobState.IterationLimit => "iteration limit",
        JobState.Diverged => "diverged",
        JobState.WaitingForAllocation => "waiting for allocation",
        JobState.Stagnated => "stagnated",
        JobState.Paused => "paused",
        _ => "failed",
    };

    /// <summary>Where a journal entry stands, in words: the text the page shows and remembers for sent ids.</summary>
    public static string Outcome(JournalEntry entry) => entry.State switch
    {
        JournalState.Received => "received, waiting for the next sync",
        JournalState.Applied => string.Concat(
            string.Create(CultureInfo.InvariantCulture, $"applied at iteration {entry.AppliedIteration}"),
            entry.AppliedTotalIteration is { } total && total != entry.AppliedIteration
                ? string.Create(CultureInfo.InvariantCulture, $" (total {total})")
                : string.Empty,
            string.IsNullOrEmpty(entry.Reason) ? string.Empty : $": {entry.Reason}"),
        _ => $"rejected: {entry.Reason ?? "no reason given"}",
    };
}
