using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Convergence.Journal;

/// <summary>
/// Every applied change of a steerable setting in the run (<c>CHANGE_TOLERANCE</c>, the solver's own commands):
/// old → new, iteration, time and <c>#id</c>, for the status page, <c>status.json</c> and <c>result.txt</c>, and
/// kept beside the checkpoints so a resumed run or a chain's next link goes on with the same record.
/// </summary>
/// <remarks>
/// <para>
/// Bounded without losing a change: the newest <see cref="Capacity"/> are kept one by one; older ones are folded
/// into one <see cref="ChangeSummary"/> per setting (count, first old value, last new value, the iterations and
/// times they span), so <see cref="Count"/> always counts every change of the run.
/// </para>
/// <para>Thread-safe: the loop thread adds, the reporter thread and the end of the job read copies.</para>
/// </remarks>
public sealed class ChangeRecord
{
    /// <summary>Changes kept one by one; older ones are summarised per setting.</summary>
    public const int Capacity = 200;

    /// <summary>The file beside the checkpoints that carries the record across <c>--resume</c> and chained links.</summary>
    public const string FileName = "changes.json";

    private readonly object _gate = new();
    private readonly Queue<ParameterChange> _recent = new();
    private readonly List<ChangeSummary> _summaries = [];
    private readonly Dictionary<string, string> _lastValue = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private long _count;

    /// <summary>An empty record keeping <see cref="Capacity"/> changes one by one.</summary>
    public ChangeRecord()
        : this(Capacity)
    {
    }

    /// <summary>An empty record keeping <paramref name="capacity"/> changes one by one (tests use a small one).</summary>
    public ChangeRecord(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>Called after every change (on the thread that added it), e.g. to keep the record beside the checkpoints.</summary>
    public Action<ChangeRecord>? Changed { get; set; }

    /// <summary>Every change of the run, including the summarised ones.</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Records one applied change; an unknown <paramref name="oldValue"/> is taken from the last change of the same setting.</summary>
    public void Add(string setting, string? oldValue, string newValue, long iteration, long totalIteration, DateTimeOffset at, string? clientId, long sequence)
    {
        ArgumentException.ThrowIfNullOrEmpty(setting);
        ArgumentNullException.ThrowIfNull(newValue);
        lock (_gate)
        {
            oldValue ??= _lastValue.GetValueOrDefault(setting);
            Append(new ParameterChange(setting, oldValue, newValue, iteration, totalIteration, at, clientId, sequence));
        }

        Changed?.Invoke(this);
    }

    /// <summary>The changes kept one by one, oldest first.</summary>
    public IReadOnlyList<ParameterChange> Recent()
    {
        lock (_gate)
        {
            return _recent.ToArray();
        }
    }

    /// <summary>The summaries of the oldest changes, one per setting (empty until the capacity is passed).</summary>
    public IReadOnlyList<ChangeSummary> Summaries()
    {
        lock (_gate)
        {
            return _summaries.ToArray();
        }
    }

    /// <summary>One line for a change, as <c>result.txt</c> and the log write it: <c>RELAXATION 1 -> 0.8 at iteration 120 (total 120) 2026-12-03T18:00:00Z #r1</c>.</summary>
    public static string Describe(ParameterChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return string.Create(CultureInfo.InvariantCulture,
            $"{change.Setting} {change.OldValue ?? "?"} -> {change.NewValue} at iteration {change.Iteration} (total {change.TotalIteration}) {change.At.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}{(change.ClientId is null ? string.Empty : " #" + change.ClientId)}");
    }

    /// <summary>One line for a summary: <c>RELAXATION: 12 changes 1 -> 0.7 between total iterations 10 and 900</c>.</summary>
    public static string Describe(ChangeSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return string.Create(CultureInfo.InvariantCulture,
            $"{summary.Setting}: {summary.Count} change{(summary.Count == 1 ? string.Empty : "s")} {summary.FirstOldValue ?? "?"} -> {summary.LastNewValue} between total iterations {summary.FirstTotalIteration} and {summary.LastTotalIteration} ({summary.FirstAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} to {summary.LastAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})");
    }

    /// <summary>The fields for <c>result.txt</c>: <c>changes=N</c>, then <c>changes_summary_K</c> and <c>change_K</c> lines, oldest first.</summary>
    public IEnumerable<(string Key, string Value)> ResultFields()
    {
        var (recent, summaries, count) = Copy();
        var fields = new List<(string, string)> { ("changes", count.ToString(CultureInfo.InvariantCulture)) };
        for (var i = 0; i < summaries.Length; i++)
        {
            fields.Add((string.Create(CultureInfo.InvariantCulture, $"changes_summary_{i + 1}"), Describe(summaries[i])));
        }

        for (var i = 0; i < recent.Length; i++)
        {
            fields.Add((string.Create(CultureInfo.InvariantCulture, $"change_{i + 1}"), Describe(recent[i])));
        }

        return fields;
    }

    /// <summary>The record as JSON (the file beside the checkpoints; <see cref="Load"/> reads it back).</summary>
    public string ToJson()
    {
        var (recent, summaries, count) = Copy();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("count", count);
            WriteSummaries(w, "summaries", summaries);
            WriteChanges(w, "changes", recent);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length) + "\n";
    }

    /// <summary>Writes <paramref name="summaries"/> as a JSON array named <paramref name="name"/> (also for <c>status.json</c>).</summary>
    internal static void WriteSummaries(Utf8JsonWriter w, string name, IEnumerable<ChangeSummary> summaries)
    {
        w.WriteStartArray(name);
        foreach (var s in summaries)
        {
            w.WriteStartObject();
            w.WriteString("setting", s.Setting);
            w.WriteNumber("count", s.Count);
            WriteText(w, "firstOld", s.FirstOldValue);
            w.WriteString("lastNew", s.LastNewValue);
            w.WriteNumber("firstTotalIteration", s.FirstTotalIteration);
            w.WriteNumber("lastTotalIteration", s.LastTotalIteration);
            w.WriteString("firstAt", s.FirstAt);
            w.WriteString("lastAt", s.LastAt);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>Writes <paramref name="changes"/> as a JSON array named <paramref name="name"/> (also for <c>status.json</c>).</summary>
    internal static void WriteChanges(Utf8JsonWriter w, string name, IEnumerable<ParameterChange> changes)
    {
        w.WriteStartArray(name);
        foreach (var c in changes)
        {
            w.WriteStartObject();
            w.WriteString("setting", c.Setting);
            WriteText(w, "old", c.OldValue);
            w.WriteString("new", c.NewValue);
            w.WriteNumber("iteration", c.Iteration);
            w.WriteNumber("totalIteration", c.TotalIteration);
            w.WriteString("at", c.At);
            WriteText(w, "clientId", c.ClientId);
            w.WriteNumber("sequence", c.Sequence);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>Takes in a record written by <see cref="ToJson"/> (a resumed run, a chain's next link) before any change of this job.</summary>
    /// <exception cref="FormatException">The text is not such a record.</exception>
    public void Load(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            lock (_gate)
            {
                foreach (var s in root.GetProperty("summaries").EnumerateArray())
                {
                    Fold(new ChangeSummary(s.GetProperty("setting").GetString()!, s.GetProperty("count").GetInt64(), Text(s, "firstOld"),
                        s.GetProperty("lastNew").GetString()!, s.GetProperty("firstTotalIteration").GetInt64(), s.GetProperty("lastTotalIteration").GetInt64(),
                        s.GetProperty("firstAt").GetDateTimeOffset(), s.GetProperty("lastAt").GetDateTimeOffset()));
                }

                foreach (var c in root.GetProperty("changes").EnumerateArray())
                {
                    Append(new ParameterChange(c.GetProperty("setting").GetString()!, Text(c, "old"), c.GetProperty("new").GetString()!,
                        c.GetProperty("iteration").GetInt64(), c.GetProperty("totalIteration").GetInt64(), c.GetProperty("at").GetDateTimeOffset(),
                        Text(c, "clientId"), c.GetProperty("sequence").GetInt64()));
                }

                // The count written is the truth (summaries of summaries add up the same way).
                _count = Math.Max(_count, root.GetProperty("count").GetInt64());
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentNullException)
        {
            throw new FormatException($"not a record of changes: {ex.Message}", ex);
        }
    }

    private (ParameterChange[] Recent, ChangeSummary[] Summaries, long Count) Copy()
    {
        lock (_gate)
        {
            return (_recent.ToArray(), _summaries.ToArray(), _count);
        }
    }

    private void Append(ParameterChange change)
    {
        _recent.Enqueue(change);
        _lastValue[change.Setting] = change.NewValue;
        _count++;
        while (_recent.Count > _capacity)
        {
            var oldest = _recent.Dequeue();
            Fold(new ChangeSummary(oldest.Setting, 1, oldest.OldValue, oldest.NewValue, oldest.TotalIteration, oldest.TotalIteration, oldest.At, oldest.At));
        }
    }

    /// <summary>Adds a summary to its setting's (the count it stands for is already in <see cref="_count"/> when it came from <see cref="Append"/>).</summary>
    private void Fold(ChangeSummary summary)
    {
        var index = _summaries.FindIndex(s => s.Setting == summary.Setting);
        if (index < 0)
        {
            _summaries.Add(summary);
            return;
        }

        var s = _summaries[index];
        _summaries[index] = s with
        {
            Count = s.Count + summary.Count,
            LastNewValue = summary.LastNewValue,
            LastTotalIteration = summary.LastTotalIteration,
            LastAt = summary.LastAt,
        };
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static void WriteText(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}
