using System.Runtime.InteropServices;

namespace Convergence.Signals;

/// <summary>
/// Which signals the job catches and what each asks for, e.g. <c>TERM=stop,INT=stop,USR1=checkpoint</c>
/// (the default). Signals not named keep their default behaviour.
/// </summary>
/// <param name="Entries">Signal name (without <c>SIG</c>) and its action.</param>
public sealed record SignalMap(IReadOnlyList<(string Signal, SignalAction Action)> Entries)
{
    // Linux numbers (x86-64 and arm64 agree); PosixSignal names only the portable ones, raw numbers are allowed.
    private static readonly (string Name, int Number)[] Known =
    [
        ("HUP", 1), ("INT", 2), ("QUIT", 3), ("USR1", 10), ("USR2", 12), ("TERM", 15),
    ];

    /// <summary>SIGTERM and SIGINT stop with a checkpoint (schedulers send them before killing); SIGUSR1 checkpoints.</summary>
    public static SignalMap Default { get; } = Parse("TERM=stop,INT=stop,USR1=checkpoint");

    /// <summary>No signal is caught.</summary>
    public static SignalMap None { get; } = new([]);

    /// <summary>Parses <c>NAME=action,…</c> (names TERM, INT, HUP, QUIT, USR1, USR2, with or without SIG; actions stop, checkpoint, deadline, ignore) or <c>none</c>.</summary>
    /// <exception cref="FormatException">An unknown signal or action; the message lists what is accepted.</exception>
    public static SignalMap Parse(string text)
    {
        var t = text.Trim();
        if (t.Equals("none", StringComparison.OrdinalIgnoreCase) || t.Length == 0)
        {
            return None;
        }

        var entries = new List<(string, SignalAction)>();
        foreach (var item in t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            var name = (eq < 0 ? item : item[..eq]).Trim().ToUpperInvariant();
            if (name.StartsWith("SIG", StringComparison.Ordinal))
            {
                name = name[3..];
            }

            if (Array.FindIndex(Known, k => k.Name == name) < 0)
            {
                throw new FormatException($"signal '{item}' is not one of TERM, INT, HUP, QUIT, USR1, USR2 (written NAME=stop|checkpoint|deadline|ignore, comma-separated, or 'none')");
            }

            SignalAction action = (eq < 0 ? string.Empty : item[(eq + 1)..].Trim().ToLowerInvariant()) switch
            {
                "stop" => SignalAction.Stop,
                "checkpoint" => SignalAction.Checkpoint,
                "ignore" => SignalAction.Ignore,
                "deadline" => SignalAction.Deadline,
                _ => throw new FormatException($"signal mapping '{item}' needs an action: stop, checkpoint, deadline or ignore (e.g. TERM=stop, USR1=deadline)"),
            };
            entries.RemoveAll(e => e.Item1 == name);
            entries.Add((name, action));
        }

        return new SignalMap(entries);
    }

    /// <summary>The signal number to register for <paramref name="name"/>.</summary>
    internal static PosixSignal ToPosix(string name) => name switch
    {
        "HUP" => PosixSignal.SIGHUP,
        "INT" => PosixSignal.SIGINT,
        "QUIT" => PosixSignal.SIGQUIT,
        "TERM" => PosixSignal.SIGTERM,
        _ => (PosixSignal)Array.Find(Known, k => k.Name == name).Number,
    };

    /// <inheritdoc />
    public override string ToString() => Entries.Count == 0
        ? "none"
        : string.Join(",", Entries.Select(e => $"{e.Signal}={e.Action.ToString().ToLowerInvariant()}"));
}
