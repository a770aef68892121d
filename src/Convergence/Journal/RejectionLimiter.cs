using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Convergence.Journal;

/// <summary>
/// Decides which rejections are recorded in full and counts the rest by reason, so garbage in the
/// notifications file cannot flood the job's log or push real commands off the status page.
/// </summary>
/// <remarks>
/// <para>
/// Up to <see cref="Allowance"/> rejections are shown in full. Past that, rejections are only counted, and
/// once per <see cref="Interval"/> a summary says how many of each reason were not shown. When a whole
/// interval passes with nothing held back, the allowance is full again: an occasional typo is always
/// shown, a flood costs a few lines per interval.
/// </para>
/// <para>Not thread-safe: the journal calls it under its lock.</para>
/// </remarks>
internal sealed class RejectionLimiter
{
    /// <summary>Rejections shown in full before counting starts.</summary>
    public const int Allowance = 10;

    /// <summary>Distinct reasons counted separately in one summary; more are counted as "other".</summary>
    internal const int MaxReasons = 16;

    private readonly Dictionary<string, long> _held = new(StringComparer.Ordinal);
    private string? _lastReason;
    private string _lastCategory = string.Empty;
    private readonly long _intervalTicks;
    private int _left = Allowance;
    private long _heldTotal;
    private long _intervalStart;
    private long _lastRejectionAt;

    public RejectionLimiter(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        Interval = interval;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>How often a summary of held-back rejections is written.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Held back since the last summary.</summary>
    public long HeldCount => _heldTotal;

    /// <summary>True when the next rejection would be shown in full (the caller may skip building its preview otherwise).</summary>
    public bool NextIsShown(long now)
    {
        Refill(now);
        return _left > 0;
    }

    /// <summary>Takes one rejection: true when it is to be shown in full, false when it was counted under <paramref name="reason"/>.</summary>
    public bool Admit(string reason, long now)
    {
        Refill(now);
        _lastRejectionAt = now;
        if (_left > 0)
        {
            _left--;
            return true;
        }

        if (_heldTotal == 0)
        {
            _intervalStart = now;
        }

        _heldTotal++;

        // A flood repeats a few constant reasons: the same string instance maps to the same category.
        if (!ReferenceEquals(reason, _lastReason))
        {
            _lastCategory = Category(reason);
            _lastReason = reason;
        }

        var key = _held.Count >= MaxReasons && !_held.ContainsKey(_lastCategory) ? "other reasons" : _lastCategory;
        CollectionsMarshal.GetValueRefOrAddDefault(_held, key, out _)++;
        return false;
    }

    /// <summary>
    /// When an interval has passed since counting started (or <paramref name="force"/>), returns the summary of
    /// what was held back and starts counting afresh; else null.
    /// </summary>
    public (long Count, string Reasons)? TakeSummary(long now, bool force)
    {
        if (_heldTotal == 0 || (!force && now - _intervalStart < _intervalTicks))
        {
            return null;
        }

        var reasons = new StringBuilder();
        foreach (var (reason, count) in _held.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal))
        {
            reasons.Append(reasons.Length == 0 ? string.Empty : ", ").Append(CultureInfo.InvariantCulture, $"{reason}: {count}");
        }

        var summary = (_heldTotal, reasons.ToString());
        _held.Clear();
        _heldTotal = 0;
        _intervalStart = now;
        return summary;
    }

    /// <summary>
    /// The reason without the parts that vary from line to line (quoted text, code points), so a flood of
    /// different garbage falls into a few counters: <c>unknown command 'X'; known: …</c> → <c>unknown command</c>.
    /// </summary>
    internal static string Category(string reason)
    {
        // Quoted parts are the sender's text: each different one would make a counter of its own.
        var unquoted = new StringBuilder(Math.Min(reason.Length, 120));
        var inQuote = false;
        foreach (var c in reason)
        {
            if (c == '\'')
            {
                unquoted.Append(inQuote ? "...'" : "'");
                inQuote = !inQuote;
            }
            else if (!inQuote)
            {
                unquoted.Append(c);
            }
        }

        var text = unquoted.ToString();
        var end = text.Length;
        foreach (var stop in (ReadOnlySpan<string>)[";", "(", ":", " U+"])
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at > 0 && at < end)
            {
                end = at;
            }
        }

        var category = text[..end].Trim();
        return category.Length == 0 ? "unreadable" : category.Length > 60 ? category[..60] : category;
    }

    private void Refill(long now)
    {
        // A full interval without any rejection, and the last summary written: the flood (if any) is over.
        if (_left < Allowance && _heldTotal == 0 && now - _lastRejectionAt >= _intervalTicks)
        {
            _left = Allowance;
        }
    }
}
