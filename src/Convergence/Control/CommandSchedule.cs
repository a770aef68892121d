using System.Globalization;
using Convergence.Commands;

namespace Convergence.Control;

/// <summary>
/// Rank 0's scheduled commands (<c>STOP at=5000</c>, <c>CHECKPOINT at=+30m</c>, <c>STOP after-checkpoints=2</c>):
/// what the pacer asks at every sync, so that a sync falls exactly on a scheduled iteration and the command
/// goes out in that sync's broadcast like any other.
/// </summary>
/// <remarks>
/// <para>
/// Only rank 0 holds the schedule; the other ranks learn nothing until the command fires, because rank 0 makes
/// the sync distance end exactly at the scheduled iteration and raises the header's command flag there. So every
/// rank acts after the same iteration, whatever the sync cadence. A time fires at the first sync at or after it;
/// a checkpoint count at the first sync after the last of those checkpoints.
/// </para>
/// <para>
/// Loop thread only, except <see cref="List"/> (the published copy is immutable). Every change is handed to
/// <see cref="Changed"/> (the status page, and the file beside the checkpoints that carries the schedule across
/// a chained link and <c>--resume</c>).
/// </para>
/// </remarks>
internal sealed class CommandSchedule
{
    /// <summary>Scheduled commands that may wait at once; more are refused so the schedule stays small.</summary>
    public const int Capacity = 100;

    private readonly List<Entry> _entries = [];
    private IReadOnlyList<ScheduledCommand> _list = [];

    /// <summary>Called after every change with the schedule as it now stands.</summary>
    public Action<CommandSchedule>? Changed { get; set; }

    /// <summary>The waiting commands, soonest iteration first then in order of arrival; an immutable copy, safe on any thread.</summary>
    public IReadOnlyList<ScheduledCommand> List => Volatile.Read(ref _list);

    /// <summary>True while nothing is scheduled (the pacer's one compare).</summary>
    public bool IsEmpty => _entries.Count == 0;

    /// <summary>True when a time waits, so the pacer reads the clock at every sync.</summary>
    public bool UsesClock { get; private set; }

    /// <summary>
    /// Takes in a <see cref="CommandKind.Schedule"/> command at total iteration <paramref name="total"/>; returns the
    /// journal's note (<c>scheduled: STOP at iteration 5000</c>) or the one-line reason it was refused.
    /// </summary>
    public (bool Accepted, string Note) Add(ControlCommand command, long sequence, long total, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(command);
        var stop = command.Name == "STOP";
        if (!ScheduleSpec.TryParse(command.Arguments, stop, out var spec, out var error))
        {
            return (false, $"{command.Name} {error}");
        }

        if (_entries.Count >= Capacity)
        {
            return (false, string.Create(CultureInfo.InvariantCulture, $"{Capacity} commands are already scheduled; CANCEL one first"));
        }

        var id = command.ClientId ?? string.Create(CultureInfo.InvariantCulture, $"s{sequence}");
        if (_entries.Exists(e => e.Id == id))
        {
            return (false, $"#{id} already names a scheduled command; CANCEL #{id} first or use another #id");
        }

        var entry = new Entry(id, sequence, command.Name, spec!.Trigger, spec.Iteration, spec.Time, spec.Checkpoints, now);
        switch (spec.Trigger)
        {
            case ScheduleTrigger.Iteration when spec.Iteration <= total:
                return (false, string.Create(CultureInfo.InvariantCulture, $"{command.Name} at iteration {spec.Iteration}: the run is already at iteration {total}"));
            case ScheduleTrigger.RelativeTime:
                entry = entry with { Trigger = ScheduleTrigger.Time, Time = now + spec.Delay };
                break;
            case ScheduleTrigger.Time when spec.Time <= now:
                return (false, $"{command.Name} at {ScheduleSpec.FormatTime(spec.Time)}: that time is already past (now {ScheduleSpec.FormatTime(now)})");
        }

        _entries.Add(entry);
        Publish();
        return (true, $"scheduled #{id}: {command.Name} {entry.When}");
    }

    /// <summary>Withdraws the command scheduled as <paramref name="id"/>; the note, or the reason there is none.</summary>
    public (bool Accepted, string Note) Cancel(string id)
    {
        var index = _entries.FindIndex(e => e.Id == id);
        if (index < 0)
        {
            var known = _entries.Count == 0 ? "nothing is scheduled" : "scheduled: " + string.Join(", ", _entries.Select(e => "#" + e.Id));
            return (false, $"CANCEL: no scheduled command has #id '{id}' ({known})");
        }

        var entry = _entries[index];
        _entries.RemoveAt(index);
        Publish();
        return (true, $"withdrew #{id}: {entry.Command} {entry.When}");
    }

    /// <summary>Iterations from <paramref name="total"/> to the next scheduled iteration; <see cref="long.MaxValue"/> when none.</summary>
    public long IterationsUntilNext(long total)
    {
        var distance = long.MaxValue;
        foreach (var e in _entries)
        {
            if (e.Trigger == ScheduleTrigger.Iteration && e.Iteration > total)
            {
                distance = Math.Min(distance, e.Iteration - total);
            }
        }

        return distance;
    }

    /// <summary>Whether a command is due at this sync (at <paramref name="total"/>, <paramref name="now"/>).</summary>
    public bool IsDue(long total, DateTimeOffset now) => _entries.Exists(e => e.IsDue(total, now));

    /// <summary>Takes the first due command out of the schedule: the command to broadcast, and the journal's text for it.</summary>
    public bool TryTakeDue(long total, DateTimeOffset now, out ControlCommand command, out string text, out long scheduledSequence)
    {
        var index = _entries.FindIndex(e => e.IsDue(total, now));
        if (index < 0)
        {
            (command, text, scheduledSequence) = (null!, string.Empty, 0);
            return false;
        }

        var entry = _entries[index];
        _entries.RemoveAt(index);
        Publish();
        var kind = entry.Command == "STOP" ? CommandKind.Stop : CommandKind.Checkpoint;
        command = new ControlCommand(kind, 0, entry.Command, string.Empty, entry.Id);
        text = string.Create(CultureInfo.InvariantCulture, $"{entry.Command} (scheduled {entry.When} by seq {entry.Sequence}, fired)");
        scheduledSequence = entry.Sequence;
        return true;
    }

    /// <summary>
    /// A periodic checkpoint is due: if it is the last one a <c>STOP after-checkpoints=N</c> waits for, that STOP
    /// becomes due instead (true), and the STOP's own checkpoint is the one it waited for.
    /// </summary>
    public bool StopWithNextCheckpoint()
    {
        var index = _entries.FindIndex(e => e is { Trigger: ScheduleTrigger.Checkpoints, Checkpoints: 1 });
        if (index < 0)
        {
            return false;
        }

        _entries[index] = _entries[index] with { Checkpoints = 0 };
        Publish();
        return true;
    }

    /// <summary>A checkpoint was written (any reason): counts down every <c>after-checkpoints</c> schedule.</summary>
    public void CheckpointWritten()
    {
        var changed = false;
        for (var i = 0; i < _entries.Count; i++)
        {
            if (_entries[i] is { Trigger: ScheduleTrigger.Checkpoints, Checkpoints: > 0 } e)
            {
                _entries[i] = e with { Checkpoints = e.Checkpoints - 1 };
                changed = true;
            }
        }

        if (changed)
        {
            Publish();
        }
    }

    /// <summary>
    /// The schedule as messages that set it up again (<c>STOP at=5000 #s1</c>; a relative time as the absolute
    /// time it stands for; a checkpoint count as what is left of it), for the next link of a chain or a resume.
    /// </summary>
    public IReadOnlyList<string> AsMessages() => _entries.Select(e => $"{e.Command} {e.Spec} #{e.Id}").ToList();

    private void Publish()
    {
        UsesClock = _entries.Exists(e => e.Trigger == ScheduleTrigger.Time);
        Volatile.Write(ref _list, _entries
            .OrderBy(e => e.Trigger == ScheduleTrigger.Iteration ? e.Iteration : long.MaxValue)
            .ThenBy(e => e.Sequence)
            .Select(e => new ScheduledCommand(e.Id, e.Sequence, e.Command, $"{e.Command} {e.Spec}", e.When, e.ScheduledAt))
            .ToList());
        Changed?.Invoke(this);
    }

    private sealed record Entry(string Id, long Sequence, string Command, ScheduleTrigger Trigger, long Iteration, DateTimeOffset Time, int Checkpoints, DateTimeOffset ScheduledAt)
    {
        public string Spec => new ScheduleSpec(Trigger, Iteration, Time, default, Checkpoints).Canonical;

        public string When => Trigger switch
        {
            ScheduleTrigger.Iteration => string.Create(CultureInfo.InvariantCulture, $"at iteration {Iteration}"),
            ScheduleTrigger.Time => $"at {ScheduleSpec.FormatTime(Time)}",
            _ => Checkpoints == 0
                ? "after its last checkpoint"
                : string.Create(CultureInfo.InvariantCulture, $"after {Checkpoints} more checkpoint{(Checkpoints == 1 ? string.Empty : "s")}"),
        };

        public bool IsDue(long total, DateTimeOffset now) => Trigger switch
        {
            ScheduleTrigger.Iteration => total >= Iteration,
            ScheduleTrigger.Time => now >= Time,
            _ => Checkpoints == 0,
        };
    }
}
