using System.Globalization;

namespace Convergence.Commands;

/// <summary>
/// The argument of a scheduled <c>STOP</c> or <c>CHECKPOINT</c>: <c>at=ITERATION</c>, <c>at=TIME</c> (ISO 8601,
/// e.g. <c>2026-12-03T19:00:00Z</c>), <c>at=+DURATION</c> (<c>+45s</c>, <c>+30m</c>, <c>+2h</c>, <c>+1d</c>) or
/// <c>after-checkpoints=N</c> (<c>STOP</c> only).
/// </summary>
/// <param name="Trigger">What the schedule waits for.</param>
/// <param name="Iteration">The total iteration, for <see cref="ScheduleTrigger.Iteration"/>.</param>
/// <param name="Time">The moment, for <see cref="ScheduleTrigger.Time"/> (UTC).</param>
/// <param name="Delay">The delay, for <see cref="ScheduleTrigger.RelativeTime"/>.</param>
/// <param name="Checkpoints">How many more checkpoints, for <see cref="ScheduleTrigger.Checkpoints"/>.</param>
/// <remarks>
/// The parser checks the form; what depends on the running job (an iteration already past, a time already
/// gone) is checked by rank 0 when it takes the command in, with the same kind of one-line reason.
/// </remarks>
public sealed record ScheduleSpec(ScheduleTrigger Trigger, long Iteration, DateTimeOffset Time, TimeSpan Delay, int Checkpoints)
{
    /// <summary>The largest iteration or checkpoint count that travels exactly (as a double).</summary>
    private const long Largest = 1L << 53;

    /// <summary>The argument as it is kept and sent: <c>at=5000</c>, <c>at=2026-12-03T19:00:00Z</c>, <c>at=+30m</c>, <c>after-checkpoints=2</c>.</summary>
    public string Canonical => Trigger switch
    {
        ScheduleTrigger.Iteration => string.Create(CultureInfo.InvariantCulture, $"at={Iteration}"),
        ScheduleTrigger.Time => "at=" + FormatTime(Time),
        ScheduleTrigger.RelativeTime => "at=+" + FormatDelay(Delay),
        _ => string.Create(CultureInfo.InvariantCulture, $"after-checkpoints={Checkpoints}"),
    };

    /// <summary>A time as schedules show it: UTC, to the second, <c>2026-12-03T19:00:00Z</c>.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses the argument of <c>STOP</c> (<paramref name="allowCheckpointCount"/>) or <c>CHECKPOINT</c>. Never throws.
    /// </summary>
    /// <param name="text">The argument text, trimmed.</param>
    /// <param name="allowCheckpointCount">Whether <c>after-checkpoints=N</c> is allowed (for <c>STOP</c>).</param>
    /// <param name="spec">The schedule, when accepted.</param>
    /// <param name="error">Null when accepted, else a one-line reason.</param>
    public static bool TryParse(string text, bool allowCheckpointCount, out ScheduleSpec? spec, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        spec = null;
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var key = equals < 0 ? text : text[..equals].Trim();
        var value = equals < 0 ? string.Empty : text[(equals + 1)..].Trim();
        var forms = allowCheckpointCount ? "at=ITERATION, at=TIME (ISO 8601), at=+30m or after-checkpoints=N" : "at=ITERATION, at=TIME (ISO 8601) or at=+30m";
        if (equals < 0 || value.Length == 0)
        {
            error = $"expected {forms}, got '{CommandParser.Shorten(text)}'";
            return false;
        }

        if (key.Equals("after-checkpoints", StringComparison.OrdinalIgnoreCase) && allowCheckpointCount)
        {
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
            {
                error = $"after-checkpoints needs a whole number of at least 1, got '{CommandParser.Shorten(value)}'";
                return false;
            }

            (spec, error) = (new ScheduleSpec(ScheduleTrigger.Checkpoints, 0, default, default, count), null);
            return true;
        }

        if (!key.Equals("at", StringComparison.OrdinalIgnoreCase))
        {
            error = $"expected {forms}, got '{CommandParser.Shorten(text)}'";
            return false;
        }

        if (char.IsAsciiDigit(value[0]) && value.All(char.IsAsciiDigit))
        {
            if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var iteration) || iteration < 1 || iteration > Largest)
            {
                error = $"at= needs an iteration from 1 to 2^53, got '{CommandParser.Shorten(value)}'";
                return false;
            }

            (spec, error) = (new ScheduleSpec(ScheduleTrigger.Iteration, iteration, default, default, 0), null);
            return true;
        }

        if (value[0] == '+')
        {
            if (!TryParseDelay(value[1..], out var delay))
            {
                error = $"'{CommandParser.Shorten(value)}' is not a delay; use +45s, +30m, +2h or +1d";
                return false;
            }

            (spec, error) = (new ScheduleSpec(ScheduleTrigger.RelativeTime, 0, default, delay, 0), null);
            return true;
        }

        if (TryParseTime(value, out var time))
        {
            (spec, error) = (new ScheduleSpec(ScheduleTrigger.Time, 0, time, default, 0), null);
            return true;
        }

        error = $"'{CommandParser.Shorten(value)}' is neither an iteration, an ISO 8601 time (2026-12-03T19:00:00Z) nor a delay (+30m)";
        return false;
    }

    private static bool TryParseDelay(string text, out TimeSpan delay)
    {
        delay = default;
        if (text.Length < 2)
        {
            return false;
        }

        var unit = char.ToLowerInvariant(text[^1]);
        var seconds = unit switch { 's' => 1.0, 'm' => 60.0, 'h' => 3600.0, 'd' => 86400.0, _ => 0 };
        if (seconds == 0 || !double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || !double.IsFinite(amount) || amount <= 0 || amount * seconds > TimeSpan.FromDays(3650).TotalSeconds)
        {
            return false;
        }

        delay = TimeSpan.FromSeconds(Math.Max(1, Math.Round(amount * seconds)));
        return true;
    }

    private static bool TryParseTime(string text, out DateTimeOffset time)
    {
        time = default;

        // ISO 8601 only: a date, 'T', a time; a zone or Z (without one it is UTC, as on a cluster's clocks).
        if (text.Length < 16 || !char.IsAsciiDigit(text[0]) || text[4] != '-' || (text[10] != 'T' && text[10] != 't'))
        {
            return false;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time))
        {
            return false;
        }

        return true;
    }

    private static string FormatDelay(TimeSpan delay)
    {
        var seconds = (long)delay.TotalSeconds;
        return seconds % 3600 == 0 ? $"{seconds / 3600}h" : seconds % 60 == 0 ? $"{seconds / 60}m" : $"{seconds}s";
    }
}
