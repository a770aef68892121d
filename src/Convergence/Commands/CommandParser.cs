using System.Globalization;

namespace Convergence.Commands;

/// <summary>
/// Turns one line of the notifications file into a <see cref="ControlCommand"/> or a one-line rejection.
/// </summary>
/// <remarks>
/// Grammar: <c>NAME [args] [#id]</c> or <c>NAME=value [#id]</c>; names are case-insensitive; leading and
/// trailing white space is ignored; a blank line is neither a command nor a rejection. The parser never
/// throws on any input and is safe to share between threads (it holds no mutable state).
/// </remarks>
public sealed class CommandParser
{
    /// <summary>The longest line, in characters, that is parsed at all.</summary>
    public const int DefaultMaxLineLength = 1024;

    /// <summary>The longest argument text, in UTF-8 bytes, that fits into a command packet.</summary>
    public const int MaxArgumentBytes = Coordination.CommandPacket.ArgumentCapacity;

    /// <summary>The longest <c>#id</c>.</summary>
    public const int MaxClientIdLength = 32;

    private static readonly string[] BuiltInNames = ["ABORT", "STOP", "RESTART", "CHECKPOINT", "CHANGE_TOLERANCE", "CANCEL", "PAUSE", "RESUME"];

    private readonly Dictionary<string, CustomCommand> _custom;
    private readonly int _maxLineLength;
    private readonly string _knownList;

    /// <summary>Creates a parser for the built-in commands plus the solver's own.</summary>
    /// <param name="customCommands">Commands the solver registered; names must not clash with built-in ones.</param>
    /// <param name="maxLineLength">Longer lines are rejected without further parsing.</param>
    public CommandParser(IEnumerable<CustomCommand>? customCommands = null, int maxLineLength = DefaultMaxLineLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 16);
        _maxLineLength = maxLineLength;
        _custom = new Dictionary<string, CustomCommand>(StringComparer.OrdinalIgnoreCase);
        foreach (var command in customCommands ?? [])
        {
            if (!IsName(command.Name) || command.Name.Length > Coordination.CommandPacket.NameCapacity)
            {
                throw new ArgumentException(
                    $"Custom command name '{command.Name}' must be 1-{Coordination.CommandPacket.NameCapacity} letters, digits or underscores.",
                    nameof(customCommands));
            }

            if (Array.Exists(BuiltInNames, n => n.Equals(command.Name, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException($"Custom command '{command.Name}' clashes with a built-in command.", nameof(customCommands));
            }

            if (!_custom.TryAdd(command.Name, command))
            {
                throw new ArgumentException($"Custom command '{command.Name}' is registered twice.", nameof(customCommands));
            }
        }

        _knownList = string.Join(", ", BuiltInNames.Concat(_custom.Keys.Select(k => k.ToUpperInvariant())));
    }

    /// <summary>The commands the solver registered.</summary>
    public IReadOnlyCollection<CustomCommand> CustomCommands => _custom.Values;

    /// <summary>Parses one line (without its line terminator). Never throws.</summary>
    public ParseResult Parse(string line)
    {
        try
        {
            return ParseCore(line);
        }
        catch (Exception ex)
        {
            // A validator supplied by a solver threw: that is the validator's bug, not the user's,
            // but the job must go on, so it becomes a rejection.
            return ParseResult.Reject($"validation failed: {OneLine(ex.Message)}", null);
        }
    }

    private ParseResult ParseCore(string line)
    {
        if (line.Length > _maxLineLength)
        {
            return ParseResult.Reject($"line of {line.Length} characters is longer than the limit of {_maxLineLength}", null);
        }

        // A byte-order mark (an editor's, at the start of the file) is not part of the message.
        var text = line.AsSpan().Trim().TrimStart('\uFEFF').Trim();
        if (text.IsEmpty)
        {
            return ParseResult.Blank;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) && c != '\t')
            {
                return ParseResult.Reject($"control character U+{(int)c:X4} in message", null);
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                // Cannot be encoded as UTF-8, so it could not travel to the other ranks unchanged.
                return ParseResult.Reject($"unpaired UTF-16 surrogate U+{(int)c:X4} in message", null);
            }
        }

        string? clientId = null;
        var lastSpace = text.LastIndexOfAny(' ', '\t');
        var lastToken = lastSpace < 0 ? text : text[(lastSpace + 1)..];
        if (lastToken.Length > 0 && lastToken[0] == '#')
        {
            var id = lastToken[1..];
            if (id.Length == 0 || id.Length > MaxClientIdLength || !IsIdentifier(id))
            {
                return ParseResult.Reject(
                    $"bad #id '{Shorten(lastToken.ToString())}': use 1-{MaxClientIdLength} letters, digits, '-' or '_'", null);
            }

            clientId = id.ToString();
            text = lastSpace < 0 ? [] : text[..lastSpace].TrimEnd();
            if (text.IsEmpty)
            {
                return ParseResult.Reject("no command before the #id", clientId);
            }
        }

        var split = text.IndexOfAny(' ', '\t', '=');
        var nameSpan = split < 0 ? text : text[..split];
        var arguments = split < 0 ? string.Empty : text[(split + 1)..].Trim().ToString();
        if (!IsName(nameSpan))
        {
            return ParseResult.Reject($"'{Shorten(nameSpan.ToString())}' is not a command name; known: {_knownList}", clientId);
        }

        var name = nameSpan.ToString().ToUpperInvariant();
        if (!_custom.ContainsKey(name) && Array.IndexOf(BuiltInNames, name) < 0)
        {
            return ParseResult.Reject($"unknown command '{Shorten(name)}'; known: {_knownList}", clientId);
        }

        if (System.Text.Encoding.UTF8.GetByteCount(arguments) > MaxArgumentBytes)
        {
            // Checked for every command: the argument text travels to the other ranks in a fixed-size packet.
            return ParseResult.Reject($"{Shorten(name)} arguments are longer than {MaxArgumentBytes} bytes", clientId);
        }

        switch (name)
        {
            case "ABORT":
                return NoArguments(CommandKind.Abort, name, arguments, clientId);
            case "STOP":
                return arguments.Length == 0 ? Accept(CommandKind.Stop, 0, name, arguments, clientId) : Scheduled(name, arguments, clientId, allowCheckpointCount: true);
            case "CHECKPOINT":
                return arguments.Length == 0 ? Accept(CommandKind.Checkpoint, 0, name, arguments, clientId) : Scheduled(name, arguments, clientId, allowCheckpointCount: false);
            case "CANCEL":
                return Cancel(arguments, clientId);
            case "RESTART":
                if (arguments.Length == 0)
                {
                    return Accept(CommandKind.Restart, 0, name, arguments, clientId);
                }

                return RestartCheckpointId(arguments) is { } restoreId
                    ? Accept(CommandKind.RestartFromCheckpoint, restoreId, name, restoreId == 0 ? "checkpoint" : FormattableString.Invariant($"checkpoint ckpt-{restoreId:D8}"), clientId)
                    : ParseResult.Reject($"RESTART takes no argument, 'checkpoint' or 'checkpoint ckpt-00000012', got '{Shorten(arguments)}'", clientId);
            case "CHANGE_TOLERANCE":
                if (!double.TryParse(arguments, NumberStyles.Float, CultureInfo.InvariantCulture, out var tolerance)
                    || !double.IsFinite(tolerance) || tolerance <= 0)
                {
                    return ParseResult.Reject(
                        $"CHANGE_TOLERANCE needs a positive finite number such as 1e-8, got '{Shorten(arguments)}'", clientId);
                }

                return Accept(CommandKind.ChangeTolerance, tolerance, name, arguments, clientId);
            case "PAUSE":
                return ParsePause(name, arguments, clientId);
            case "RESUME":
                return NoArguments(CommandKind.Resume, name, arguments, clientId);
        }

        if (_custom.TryGetValue(name, out var custom))
        {
            var lastWord = arguments.AsSpan(arguments.AsSpan().LastIndexOfAny(' ', '\t') + 1);
            if (lastWord.StartsWith("#"))
            {
                // "NAME a #b" means argument "a" with id "b"; an argument ending in "#…" could never be sent back as typed.
                return ParseResult.Reject($"{name}: only one #id, at the very end, and arguments may not end with a word starting with '#'", clientId);
            }

            var value = 0.0;
            if (custom.Argument is { } declared)
            {
                // The declared kind and range: the reason names them, so no usage text is appended.
                if (!declared.TryParse(arguments, out value, out var canonical, out var typeError))
                {
                    return ParseResult.Reject($"{name}: {typeError}", clientId);
                }

                arguments = canonical;
            }

            string? error;
            try
            {
                error = custom.Validate?.Invoke(arguments);
            }
            catch (Exception ex)
            {
                // The solver's validator has a bug; the user's message becomes a rejection and the job goes on.
                return ParseResult.Reject($"{name}: validation failed: {OneLine(ex.Message)}", clientId);
            }

            return error is null
                ? Accept(CommandKind.Custom, value, custom.Name.ToUpperInvariant(), arguments, clientId)
                : ParseResult.Reject($"{name}: {OneLine(error)} (usage: {custom.Usage})", clientId);
        }

        return ParseResult.Reject($"unknown command '{Shorten(name)}'; known: {_knownList}", clientId);
    }

    /// <summary><c>STOP at=…</c>, <c>CHECKPOINT at=…</c>: a <see cref="CommandKind.Schedule"/> whose arguments are the canonical spec.</summary>
    private static ParseResult Scheduled(string name, string arguments, string? clientId, bool allowCheckpointCount)
    {
        if (!ScheduleSpec.TryParse(arguments, allowCheckpointCount, out var spec, out var error))
        {
            return ParseResult.Reject($"{name} {error}", clientId);
        }

        var value = spec!.Trigger switch
        {
            ScheduleTrigger.Iteration => spec.Iteration,
            ScheduleTrigger.Checkpoints => spec.Checkpoints,
            _ => 0,
        };
        return Accept(CommandKind.Schedule, value, name, spec.Canonical, clientId);
    }

    /// <summary>
    /// <c>CANCEL #id</c> names the scheduled command by its <c>#id</c>, which the general grammar would take for
    /// this message's own: here the last <c>#id</c> is the target, or with two the first is (<c>CANCEL #s1 #c1</c>).
    /// </summary>
    private static ParseResult Cancel(string arguments, string? clientId)
    {
        var (target, ownId) = arguments.Length == 0 ? (clientId, (string?)null) : (arguments.TrimStart('#'), clientId);
        if (target is null || target.Length == 0 || target.Length > MaxClientIdLength || !IsIdentifier(target))
        {
            return ParseResult.Reject(
                $"CANCEL needs the #id of a scheduled command (CANCEL #stop-at-5000), got '{Shorten(arguments.Length == 0 ? "#" + clientId : arguments)}'", ownId);
        }

        return Accept(CommandKind.Cancel, 0, "CANCEL", target, ownId);
    }

    /// <summary>The longest <c>PAUSE</c> with a duration (a week: past any allocation).</summary>
    public static readonly TimeSpan MaxPause = TimeSpan.FromDays(7);

    /// <summary><c>PAUSE</c> (until <c>RESUME</c>) or <c>PAUSE 15m</c> (resumes by itself; <c>s</c>, <c>m</c>, <c>h</c>).</summary>
    private static ParseResult ParsePause(string name, string arguments, string? clientId)
    {
        if (arguments.Length == 0)
        {
            return Accept(CommandKind.Pause, 0, name, arguments, clientId);
        }

        if (!Checkpoints.CheckpointPeriod.TryParseDuration(arguments, out var duration)
            || arguments.Trim().EndsWith("ms", StringComparison.OrdinalIgnoreCase)
            || duration < TimeSpan.FromSeconds(1) || duration > MaxPause)
        {
            return ParseResult.Reject($"PAUSE takes no argument (until RESUME) or a duration from 1s to 168h such as 30s, 15m or 2h, got '{Shorten(arguments)}'", clientId);
        }

        return Accept(CommandKind.Pause, duration.TotalSeconds, name, arguments.Trim().ToLowerInvariant(), clientId);
    }

    private static ParseResult NoArguments(CommandKind kind, string name, string arguments, string? clientId) =>
        arguments.Length == 0
            ? Accept(kind, 0, name, arguments, clientId)
            : ParseResult.Reject($"{name} takes no argument, got '{Shorten(arguments)}'", clientId);

    /// <summary>
    /// <c>RESTART</c>'s argument: <c>checkpoint</c> (0, the newest that fits) or <c>checkpoint ckpt-00000012</c> /
    /// <c>checkpoint 12</c> (that one); null when it is neither.
    /// </summary>
    private static long? RestartCheckpointId(string arguments)
    {
        var words = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || !words[0].Equals("checkpoint", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (words.Length == 1)
        {
            return 0;
        }

        var digits = words[1].StartsWith("ckpt-", StringComparison.OrdinalIgnoreCase) ? words[1][5..] : words[1];
        return words.Length == 2
            && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            && id is >= 1 and <= 1L << 52
            ? id
            : null;
    }

    private static ParseResult Accept(CommandKind kind, double value, string name, string arguments, string? clientId) =>
        ParseResult.Accept(new ControlCommand(kind, value, name, arguments, clientId));

    private static bool IsName(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || s.Length > 64)
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return char.IsAsciiLetter(s[0]);
    }

    private static bool IsIdentifier(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Keeps quoted user text in rejections short and on one line.</summary>
    internal static string Shorten(string s, int max = 60)
    {
        s = OneLine(s);
        return s.Length <= max ? s : string.Concat(s.AsSpan(0, max), "…");
    }

    internal static string OneLine(string s) =>
        s.Contains('\n') || s.Contains('\r') ? s.Replace("\r", " ").Replace("\n", " ") : s;
}
