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
/// <remarks>Thread-safe (one lock; never taken on a no-sync iteration). Keeps the newest <see cref="Capacity"/> entries.</remarks>
public sealed class CommandJournal
{
    /// <summary>How many entries are kept for display; counts cover all of them.</summary>
    public const int Capacity = 1000;

    private readonly object _gate = new();
    private readonly LinkedList<JournalEntry> _entries = new();
    private readonly Dictionary<long, LinkedListNode<JournalEntry>> _bySequence = [];
    private readonly Action<string>? _log;
    private long _sequence;
    private long _received;
    private long _applied;
    private long _rejected;
    private long _version;

    /// <summary>Creates a journal that writes its events to <paramref name="log"/>.</summary>
    public CommandJournal(Action<string>? log = null) => _log = log;

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
        Interlocked.Increment(ref _received);
        _log?.Invoke($"command received seq={entry.Sequence} id={Id(entry.ClientId)} text=\"{Quote(entry.Text)}\"");
        return entry.Sequence;
    }

    /// <summary>Records a rejected message.</summary>
    public long Rejected(string text, string? clientId, string reason)
    {
        var entry = Add(text, clientId, JournalState.Rejected, reason);
        Interlocked.Increment(ref _rejected);
        _log?.Invoke($"command rejected seq={entry.Sequence} id={Id(clientId)} reason=\"{Quote(reason)}\" text=\"{Quote(entry.Text)}\"");
        return entry.Sequence;
    }

    /// <summary>Marks a received command as applied on every rank.</summary>
    public void Applied(long sequence, long iteration, long totalIteration, string? note = null)
    {
        var entry = Update(sequence, e => e with { State = JournalState.Applied, AppliedIteration = iteration, AppliedTotalIteration = totalIteration, Reason = note });
        Interlocked.Increment(ref _applied);
        _log?.Invoke(FormattableString.Invariant(
            $"command applied seq={sequence} id={Id(entry?.ClientId)} iteration={iteration} total={totalIteration} text=\"{Quote(entry?.Text ?? "?")}\"{(note is null ? string.Empty : $" note=\"{Quote(note)}\"")}"));
    }

    /// <summary>Marks a received command as not applied after all (e.g. a checkpoint the solver cannot write).</summary>
    public void Declined(long sequence, string reason)
    {
        var entry = Update(sequence, e => e with { State = JournalState.Rejected, Reason = reason });
        Interlocked.Increment(ref _rejected);
        _log?.Invoke($"command rejected seq={sequence} id={Id(entry?.ClientId)} reason=\"{Quote(reason)}\" text=\"{Quote(entry?.Text ?? "?")}\"");
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
            if (c is '\\' or '"' || char.IsControl(c))
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
            else if (char.IsControl(c))
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
