using System.Text;
using System.Text.Json;
using Convergence.Output;

namespace Convergence.Status;

/// <summary>
/// <c>status.json</c>: the status page's facts in a machine-readable form, written atomically next to
/// <c>status.html</c> so that tools (<c>convergence status</c>, scripts) never scrape HTML.
/// </summary>
/// <remarks>
/// Property names are camelCase and stable; <c>schema</c> is raised when one changes meaning. Numbers
/// that are not finite (the residual before the first sync) are written as <c>null</c>.
/// </remarks>
public static class StatusJson
{
    /// <summary>The file's name inside the service folder.</summary>
    public const string FileName = "status.json";

    /// <summary>The format version written in <c>schema</c>.</summary>
    public const int Schema = 1;

    /// <summary>The <c>status.json</c> that belongs beside <paramref name="statusPage"/>.</summary>
    public static string PathBeside(string statusPage) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(statusPage)) ?? ".", FileName);

    /// <summary>Writes <paramref name="snapshot"/> atomically to the <c>status.json</c> beside <paramref name="statusPage"/>.</summary>
    public static void WriteBeside(string statusPage, StatusSnapshot snapshot) => WriteBeside(statusPage, snapshot, durable: false);

    /// <summary>Writes <paramref name="snapshot"/> atomically beside <paramref name="statusPage"/>; <paramref name="durable"/> for the final one.</summary>
    public static void WriteBeside(string statusPage, StatusSnapshot snapshot, bool durable) =>
        AtomicFile.WriteAllText(PathBeside(statusPage), Serialize(snapshot), durable);

    /// <summary>The JSON text for <paramref name="s"/> (UTF-8, indented, one trailing newline).</summary>
    public static string Serialize(StatusSnapshot s)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("schema", Schema);
            w.WriteString("job", s.JobName);
            w.WriteString("solver", s.SolverName);
            w.WriteString("state", s.State.ToString());
            w.WriteBoolean("finished", s.Finished);
            w.WriteNumber("ranks", s.Ranks);
            w.WriteStartArray("nodes");
            foreach (var node in s.Nodes)
            {
                w.WriteStartObject();
                w.WriteString("host", node.Host);
                w.WriteString("ranks", node.Ranks);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("iteration", s.Iteration);
            w.WriteNumber("totalIterations", s.TotalIterations);
            Number(w, "residual", s.Residual);
            Number(w, "tolerance", s.Tolerance);
            w.WriteNumber("restarts", s.Restarts);
            Number(w, "elapsedSeconds", s.Elapsed.TotalSeconds);
            Number(w, "iterationsPerSecond", s.IterationsPerSecond);
            Number(w, "etaSeconds", s.EstimatedTimeToTolerance?.TotalSeconds);
            if (s.Warning is not null)
            {
                w.WriteString("warning", s.Warning);
            }
            if (s.Pause is { } pause)
            {
                w.WriteStartObject("paused");
                w.WriteNumber("iteration", pause.Iteration);
                w.WriteString("since", pause.Since);
                if (pause.ResumesAt is { } at)
                {
                    w.WriteString("resumesAt", at);
                }
                else
                {
                    w.WriteNull("resumesAt");
                }

                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("paused");
            }

            NullableString(w, "stall", s.Stall);
            NullableString(w, "message", s.Message);
            NullableString(w, "lastCheckpoint", s.LastCheckpoint);
            w.WriteString("updatedAt", s.UpdatedAt);
            w.WriteStartArray("journal");
            foreach (var e in s.Journal)
            {
                w.WriteStartObject();
                w.WriteNumber("sequence", e.Sequence);
                w.WriteString("text", e.Text);
                NullableString(w, "clientId", e.ClientId);
                w.WriteString("receivedAt", e.ReceivedAt);
                w.WriteString("state", e.State.ToString());
                NullableNumber(w, "appliedIteration", e.AppliedIteration);
                NullableNumber(w, "appliedTotalIteration", e.AppliedTotalIteration);
                NullableString(w, "reason", e.Reason);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("scheduled");
            foreach (var c in s.Scheduled)
            {
                w.WriteStartObject();
                w.WriteString("clientId", c.ClientId);
                w.WriteNumber("sequence", c.Sequence);
                w.WriteString("command", c.Command);
                w.WriteString("text", c.Text);
                w.WriteString("when", c.When);
                w.WriteString("scheduledAt", c.ScheduledAt);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("changeCount", s.ChangeCount);
            Journal.ChangeRecord.WriteSummaries(w, "changeSummaries", s.ChangeSummaries);
            Journal.ChangeRecord.WriteChanges(w, "changes", s.Changes);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length) + "\n";
    }

    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        // JSON has no NaN or Infinity; null says "not known yet" to every reader.
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void NullableNumber(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void NullableString(Utf8JsonWriter w, string name, string? value)
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
