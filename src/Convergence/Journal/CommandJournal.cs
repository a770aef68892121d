using System.Diagnostics;
using System.Globalization;
using Convergence.Commands;

namespace Convergence.Journal;

/// <summary>
/// Rank 0's record of every message: received, applied at iteration N, or rejected with a reason. Feeds
/// the status page and writes one stable, greppable log line per event:
/// <c>command received seq=3 id=7f3a text="STOP"</c>,
/// <c>command applied seq=3 id=7f3a iteration=1200 total=1200 text="STOP"</c>,
/// <c>command rejected seq=4 id=- reason="…" text="…"</c>.
/// </summary>
/// <remarks>
/// <para>Thread-safe (one lock; never taken on a no-sync iteration). Keeps the newest <see cref="Capacity"/> entries; a received command's <c>#id</c> and text are kept until it is applied or declined, so its acknowledgement names it even when its entry was evicted.</para>
/// <para>
/// Rejections are rate-limited: the first <see cref="RejectionLimiter.Allowance"/> are recorded in full;
/// past that they are counted by reason and <see cref="FlushRejections"/> records one summary entry and
/// one log line (<c>command rejections-summary count=N reasons="…"</c>) per interval. Received, applied and
/// declined commands are always recorded, and their log lines go to the log that never drops lines.
/// </para>
/// </remarks>
public sealed class CommandJournal
{
    /// <summary>How many entries are kept for display; counts cover all of them.</summary>
    public const int Capacity = 1000;

    private readonly object _gate = new();
    private readonly LinkedList<JournalEntry> _entries = new();
    private readonly Dictionary<long, LinkedListNode<JournalEntry>> _bySequence = [];

    // Received commands not yet applied or declined: their #id and text outlive their entry, which the
    // capacity may evict while up to CommandIntake.MaxWaiting commands wait (the acknowledgement still names them).
    private readonly Dictionary<long, (string? ClientId, string Text)> _waiting = [];
    private readonly Action<string>? _log;
    private readonly RejectionLimiter _limiter;
    private long _sequence;
    private long _received;
    private long _applied;
    private long _rejected;
    private long _version;

    /// <summary>Creates a journal that writes its events to <paramref name="log"/>.</summary>
    /// <param name="log">
    /// Where the journal's lines go: acknowledgements, shown rejections and summaries, all bounded in number,
    /// so the job passes its log's never-dropping <c>WriteAlways</c>.
    /// </param>
    public CommandJournal(Action<string>? log = null)
        : this(log, TimeSpan.FromSeconds(5))
    {
    }

    /// <summary>Creates a journal that writes its events to <paramref name="log"/> and summarises held-back rejections every <paramref name="rejectionInterval"/>.</summary>
    public CommandJournal(Action<string>? log, TimeSpan rejectionInterval)
    {
        _log = log;
        _limiter = new RejectionLimiter(rejectionInterval);
    }

    /// <summary>Messages accepted so far (applied or waiting).</summary>
    public long ReceivedCount => Interlocked.Read(ref _received);

    /// <summary>Messages applied so far.</summary>
    public long AppliedCount => Interlocked.Read(ref _applied);

    /// <summary>Messages rejected so far.</summary>
    public long RejectedCount => Interlocked.Read(ref _rejected);

    /// <summary>Changes whenever an entry is added or changes; lets readers skip unchanged snapshots.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Records an accepted command; returns its sequence number.</summary>
    public long Received(ControlCommand command, string text)
    {
        var entry = Add(text, command.ClientId, JournalState.Received, null);
        lock (_gate)
        {
            _waiting[entry.Sequence] = (entry.ClientId, entry.Text);
        }

        Interlocked.Increment(ref _received);
        _log?.Invoke($"command received seq={entry.Sequence} id={Id(entry.ClientId)} text=\"{Quote(entry.Text)}\"");
        return entry.Sequence;
    }

    /// <summary>
    /// Records a scheduled command that fires now (its schedule was acknowledged earlier under its own sequence):
    /// a new entry under <paramref name="command"/>'s <c>#id</c>, to be marked applied like any other; returns its sequence.
    /// </summary>
    public long Fired(ControlCommand command, string text, long scheduledSequence)
    {
        ArgumentNullException.ThrowIfNull(command);
        var entry = Add(text, command.ClientId, JournalState.Received, null);
        lock (_gate)
        {
            _waiting[entry.Sequence] = (entry.ClientId, entry.Text);
        }

        _log?.Invoke(FormattableString.Invariant($"command fired seq={entry.Sequence} id={Id(entry.ClientId)} scheduled-seq={scheduledSequence} text=\"{Quote(entry.Text)}\""));
        return entry.Sequence;
    }

    /// <summary>
    /// True when the next <see cref="Rejected"/> will be recorded in full; when false, a caller may pass a
    /// cheap placeholder text, since only the reason is counted.
    /// </summary>
    public bool NextRejectionShown
    {
        get
        {
            lock (_gate)
            {
                return _limiter.NextIsShown(Stopwatch.GetTimestamp());
            }
        }
    }

    /// <summary>Held-back rejections not yet summarised.</summary>
    internal long HeldRejections
    {
        get
        {
            lock (_gate)
            {
                return _limiter.HeldCount;
            }
        }
    }

    /// <summary>
    /// Records a rejected message: in full while the rate limit allows, else only counted under its reason
    /// (summarised by <see cref="FlushRejections"/>).
    /// </summary>
    /// <returns>Its sequence number, or 0 when it was only counted.</returns>
    public long Rejected(string text, string? clientId, string reason)
    {
        Interlocked.Increment(ref _rejected);
        lock (_gate)
        {
            if (!_limiter.Admit(reason, Stopwatch.GetTimestamp()))
            {
                return 0;
            }
        }

        var entry = Add(text, clientId, JournalState.Rejected, reason);
        _log?.Invoke($"command rejected seq={entry.Sequence} id={Id(clientId)} reason=\"{Quote(reason)}\" text=\"{Quote(entry.Text)}\"");
        return entry.Sequence;
    }

    /// <summary>
    /// Records one summary of the rejections held back by the rate limit, when an interval has passed since
    /// the first of them (or at once with <paramref name="force"/>, at the end of the run). Cheap when there
    /// is nothing to summarise; the watcher calls it after every poll.
    /// </summary>
    /// <returns>True when a summary was recorded.</returns>
    public bool FlushRejections(bool force = false)
    {
        (long Count, string Reasons)? summary;
        lock (_gate)
        {
            summary = _limiter.TakeSummary(Stopwatch.GetTimestamp(), force);
        }

        if (summary is not { } s)
        {
            return false;
        }

        var text = string.Create(CultureInfo.InvariantCulture, $"({s.Count} more rejected messages, not shown one by one)");
        var entry = Add(text, null, JournalState.Rejected, s.Reasons);
        _log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"command rejections-summary seq={entry.Sequence} count={s.Count} rejected_total={RejectedCount} reasons=\"{Quote(s.Reasons)}\""));
        return true;
    }

    /// <summary>Marks a received command as applied on every rank.</summary>
    public void Applied(long sequence, long iteration, long totalIteration, string? note = null)
    {
        var (clientId, text) = Acknowledge(sequence, e => e with { State = JournalState.Applied, AppliedIteration = iteration, AppliedTotalIteration = totalIteration, Reason = note });
        Interlocked.Increment(ref _applied);
        _log?.Invoke(FormattableString.Invariant(
            $"command applied seq={sequence} id={Id(clientId)} iteration={iteration} total={totalIteration} text=\"{Quote(text)}\"{(note is null ? string.Empty : $" note=\"{Quote(note)}\"")}"));
    }

    /// <summary>Marks a received command as not applied after all (e.g. a checkpoint the solver cannot write).</summary>
    public void Declined(long sequence, string reason)
    {
        var (clientId, text) = Acknowledge(sequence, e => e with { State = JournalState.Rejected, Reason = reason });
        Interlocked.Increment(ref _rejected);
        _log?.Invoke($"command rejected seq={sequence} id={Id(clientId)} reason=\"{Quote(reason)}\" text=\"{Quote(text)}\"");
    }

    /// <summary>
    /// A received command that this job could not apply before it ended but the next link of its chain will:
    /// it stays <see cref="JournalState.Received"/> with <paramref name="note"/>. Returns its text, for the
    /// next link to take in.
    /// </summary>
    public string CarriedOver(long sequence, string note)
    {
        var (clientId, text) = Acknowledge(sequence, e => e with { Reason = note });
        _log?.Invoke($"command carried-over seq={sequence} id={Id(clientId)} note=\"{Quote(note)}\" text=\"{Quote(text)}\"");
        return text;
    }

    /// <summary>The newest <paramref name="count"/> entries, oldest first.</summary>
    public IReadOnlyList<JournalEntry> Snapshot(int count = 50)
    {
        lock (_gate)
        {
            return _entries.Skip(Math.Max(0, _entries.Count - count)).ToArray();
        }
    }

    private JournalEntry Add(string text, string? clientId, JournalState state, string? reason)
    {
        lock (_gate)
        {
            var entry = new JournalEntry(++_sequence, CommandParser.Shorten(text, 200), clientId, DateTimeOffset.UtcNow, state, null, null, reason);
            _bySequence[entry.Sequence] = _entries.AddLast(entry);
            while (_entries.Count > Capacity)
            {
                _bySequence.Remove(_entries.First!.Value.Sequence);
                _entries.RemoveFirst();
            }

            Interlocked.Increment(ref _version);
            return entry;
        }
    }

    /// <summary>Updates a received command's entry (if still kept) and returns its #id and text, which are kept until now in any case.</summary>
    private (string? ClientId, string Text) Acknowledge(long sequence, Func<JournalEntry, JournalEntry> change)
    {
        lock (_gate)
        {
            var entry = Update(sequence, change);
            if (_waiting.Remove(sequence, out var waiting))
            {
                return waiting;
            }

            return entry is null ? (null, "?") : (entry.ClientId, entry.Text);
        }
    }

    private JournalEntry? Update(long sequence, Func<JournalEntry, JournalEntry> change)
    {
        lock (_gate)
        {
            Interlocked.Increment(ref _version);
            if (!_bySequence.TryGetValue(sequence, out var node))
            {
                return null;
            }

            node.Value = change(node.Value);
            return node.Value;
        }
    }

    /// <summary>Control characters, and format characters such as bidi overrides that would reorder what a reader sees.</summary>
    private static bool NeedsEscape(char c) => char.IsControl(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format;

    private static string Id(string? clientId) => clientId ?? "-";

    /// <summary>
    /// Escapes quotes, backslashes and control characters, so a message can neither break the log line's
    /// <c>key="value"</c> format nor send terminal escape sequences to whoever reads the log.
    /// </summary>
    private static string Quote(string s)
    {
        var clean = true;
        foreach (var c in s)
        {
            if (c is '\\' or '"' || NeedsEscape(c))
            {
                clean = false;
                break;
            }
        }

        if (clean)
        {
            return s;
        }

        var builder = new System.Text.StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            if (c is '\\' or '"')
            {
                builder.Append('\\').Append(c);
            }
            else if (NeedsEscape(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
