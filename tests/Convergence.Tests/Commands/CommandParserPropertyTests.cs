using System.Globalization;
using System.Text;
using Convergence.Commands;
using Convergence.Coordination;

namespace Convergence.Tests.Commands;

/// <summary>
/// Properties of the parser over many generated lines (seeded, so a failure repeats): it never throws,
/// every non-blank line is exactly one command or one rejection, accepted commands survive the trip
/// through a <see cref="CommandPacket"/> and through their own text.
/// </summary>
public sealed class CommandParserPropertyTests
{
    private const int Cases = 20_000;

    private static readonly string[] Names = ["ABORT", "STOP", "RESTART", "CHECKPOINT", "CHANGE_TOLERANCE", "SET", "PROBE", "FOO", "STOPP", "CHANGE-TOLERANCE"];

    private static readonly string[] Arguments =
    [
        "", "1e-8", "1E-3", "0.5", "-1", "0", "nan", "NaN", "Infinity", "-Infinity", "1e400", "1e-400", "4.9e-324", "abc", "checkpoint",
        "CHECKPOINT", "relaxation 1.3", "relaxation 2.5", "relaxation", "relaxation x", "omega 0.1", "1,5", "0x10", "  1e-5  ", "1e-8 extra",
        "∞", "１e-3", "1e-8\u00A0", "\u2003", "é", "😀", "relaxation 1.3 #", "#", "##", "=", "==1", "a=b", "\"1e-8\"",
    ];

    private static readonly string[] Ids = ["", " #a", " #7f3a", " #A-b_9", " #", " #bad!", " #" + new string('x', 32), " #" + new string('y', 33), "#x", " #é", " # x"];

    private static readonly CustomCommand[] Custom =
    [
        new("SET", "SET <name> <value>", "set a parameter", ValidateSet),
        new("PROBE", "PROBE [text]", "echo text", null),
        new("BOOM", "BOOM", "a validator that throws", _ => throw new InvalidOperationException("validator\nbug")),
    ];

    private readonly CommandParser _parser = new(Custom);

    [Fact]
    public void GeneratedLinesNeverThrowAndYieldExactlyOneOutcome()
    {
        var random = new Random(7);
        var accepted = 0;
        var rejected = 0;
        for (var i = 0; i < Cases; i++)
        {
            var line = Generate(random);
            var result = Parse(line);
            if (result.IsBlank)
            {
                Assert.True(string.IsNullOrWhiteSpace(line.Replace('\uFEFF', ' ')), $"case {i}: non-blank line treated as blank: {Show(line)}");
                continue;
            }

            Assert.True(result.Command is null ^ result.Rejection is null, $"case {i}: exactly one of command and rejection: {Show(line)}");
            if (result.Command is { } command)
            {
                accepted++;
                AssertRoundTrips(command, line);
            }
            else
            {
                rejected++;
                AssertOneLineReason(result.Rejection!, line);
            }
        }

        // The generator must reach both sides, or the properties above say little.
        Assert.True(accepted > Cases / 10, $"only {accepted} accepted");
        Assert.True(rejected > Cases / 10, $"only {rejected} rejected");
    }

    [Fact]
    public void WellFormedCommandsInAnyCaseAndFormAreAcceptedWithTheirValues()
    {
        var random = new Random(11);
        for (var i = 0; i < Cases / 4; i++)
        {
            var exponent = random.Next(1, 300);
            var mantissa = random.Next(1, 10);
            var number = $"{mantissa}e-{exponent}";
            var id = random.Next(2) == 0 ? null : $"c{random.Next(100_000)}";
            var separator = random.Next(3) switch { 0 => " ", 1 => "=", _ => "\t " };
            var (text, kind, value) = random.Next(6) switch
            {
                0 => ($"{RandomCase(random, "change_tolerance")}{separator}{number}", CommandKind.ChangeTolerance, double.Parse(number, CultureInfo.InvariantCulture)),
                1 => (RandomCase(random, "stop"), CommandKind.Stop, 0d),
                2 => (RandomCase(random, "abort"), CommandKind.Abort, 0d),
                3 => (RandomCase(random, "checkpoint"), CommandKind.Checkpoint, 0d),
                4 => ($"{RandomCase(random, "restart")} {RandomCase(random, "checkpoint")}", CommandKind.RestartFromCheckpoint, 0d),
                _ => (RandomCase(random, "restart"), CommandKind.Restart, 0d),
            };
            var line = $"{Spaces(random)}{text}{(id is null ? string.Empty : $" #{id}")}{Spaces(random)}";

            var result = Parse(line);

            Assert.True(result.Command is not null, $"rejected {Show(line)}: {result.Rejection}");
            Assert.Equal(kind, result.Command!.Kind);
            Assert.Equal(value, result.Command.Value);
            Assert.Equal(id, result.Command.ClientId);
            AssertRoundTrips(result.Command, line);
        }
    }

    [Fact]
    public void BadTolerancesAreRejectedWithTheirIdKept()
    {
        foreach (var bad in new[] { "0", "-1e-8", "nan", "NaN", "Infinity", "1e400", "abc", "", "1e-8 1e-9", "0x10", "-0" })
        {
            var result = Parse($"CHANGE_TOLERANCE {bad} #t1");

            Assert.Null(result.Command);
            Assert.Equal("t1", result.ClientId);
            Assert.Contains("positive finite number", result.Rejection, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ArgumentsThatDoNotFitAPacketAreRejectedNotThrownLater()
    {
        var random = new Random(3);
        for (var length = 190; length < 420; length++)
        {
            var digits = new string('0', length);
            var text = string.Concat(Enumerable.Range(0, length).Select(_ => random.Next(4) == 0 ? "é" : "x"));
            foreach (var line in new[] { $"CHANGE_TOLERANCE {digits}1e-8", $"CHANGE_TOLERANCE=0.{digits}1", $"PROBE {text}", $"SET relaxation {digits}1" })
            {
                var result = Parse(line);
                if (result.Command is { } command)
                {
                    AssertRoundTrips(command, line);
                }
                else
                {
                    AssertOneLineReason(result.Rejection!, line);
                }
            }
        }
    }

    [Fact]
    public void ValidatorThatThrowsBecomesARejection()
    {
        var result = Parse("BOOM #b1");

        Assert.Null(result.Command);
        Assert.Contains("validation failed", result.Rejection, StringComparison.Ordinal);
        Assert.Equal("b1", result.ClientId);
        Assert.DoesNotContain('\n', result.Rejection!);
    }

    private ParseResult Parse(string line)
    {
        try
        {
            return _parser.Parse(line);
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"Parse threw {ex.GetType().Name} on {Show(line)}: {ex.Message}");
        }
    }

    private void AssertRoundTrips(ControlCommand command, string line)
    {
        CommandPacket packet;
        try
        {
            packet = CommandPacket.From(command, 42);
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"accepted {Show(line)} but it does not fit a packet: {ex.Message}");
        }

        Assert.Equal(command, packet.ToCommand());
        Assert.Equal(42, packet.Sequence);

        // The command's own text (plus its id) parses to the same command: what the log shows can be re-sent.
        var again = Parse(command.ClientId is null ? command.ToString() : $"{command} #{command.ClientId}");
        Assert.Equal(command, again.Command);
    }

    private static void AssertOneLineReason(string reason, string line)
    {
        Assert.False(string.IsNullOrWhiteSpace(reason), $"empty reason for {Show(line)}");
        Assert.True(reason.IndexOfAny(['\n', '\r']) < 0, $"multi-line reason for {Show(line)}: {reason}");
        Assert.True(reason.Length < 400, $"reason of {reason.Length} characters for {Show(line)}");
    }

    private static string Generate(Random random) => random.Next(10) switch
    {
        < 5 => Compose(random),
        < 7 => Mutate(random, Compose(random)),
        < 9 => Noise(random, random.Next(0, 40)),
        _ => random.Next(4) switch
        {
            0 => Noise(random, random.Next(1000, 1100)),
            1 => string.Concat(Compose(random), " ", new string('z', random.Next(150, 260))),
            2 => new string(' ', random.Next(0, 2000)),
            _ => "PROBE " + string.Concat(Enumerable.Range(0, random.Next(60, 80)).Select(_ => "😀")),
        },
    };

    private static string Compose(Random random)
    {
        var name = RandomCase(random, Names[random.Next(Names.Length)]);
        var argument = random.Next(2) == 0 ? Arguments[random.Next(Arguments.Length)] : FittingArgument(random, name);
        var separator = argument.Length == 0 && random.Next(2) == 0 ? string.Empty : random.Next(4) switch { 0 => "=", 1 => "\t", 2 => "  ", _ => " " };
        return $"{Spaces(random)}{name}{separator}{argument}{Ids[random.Next(Ids.Length)]}{Spaces(random)}";
    }

    /// <summary>An argument the named command would take, so that about half the composed lines are valid.</summary>
    private static string FittingArgument(Random random, string name) => name.ToUpperInvariant() switch
    {
        "CHANGE_TOLERANCE" => FormattableString.Invariant($"{random.NextDouble() * 10:G6}e-{random.Next(0, 320)}"),
        "RESTART" => random.Next(2) == 0 ? string.Empty : "checkpoint",
        "SET" => FormattableString.Invariant($"relaxation {random.NextDouble() * 2.2:G4}"),
        "PROBE" => Noise(random, random.Next(0, 30)),
        _ => string.Empty,
    };

    private static string Mutate(Random random, string line)
    {
        var builder = new StringBuilder(line);
        for (var edits = random.Next(1, 4); edits > 0; edits--)
        {
            var at = builder.Length == 0 ? 0 : random.Next(builder.Length + 1);
            switch (random.Next(3))
            {
                case 0 when at < builder.Length:
                    builder.Remove(at, 1);
                    break;
                case 1 when at < builder.Length:
                    builder[at] = RandomChar(random);
                    break;
                default:
                    builder.Insert(at, RandomChar(random));
                    break;
            }
        }

        return builder.ToString();
    }

    private static string Noise(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = RandomChar(random);
        }

        return new string(chars);
    }

    /// <summary>Any UTF-16 unit, biased towards the interesting ones: separators, controls, surrogates, look-alikes.</summary>
    private static char RandomChar(Random random) => random.Next(10) switch
    {
        0 => " \t=#_-.eE+"[random.Next(10)],
        1 => (char)random.Next(0, 0x20),
        2 => (char)random.Next(0x7F, 0xA1),
        3 => (char)random.Next(0xD800, 0xE000),
        4 => "\u00A0\u2003\u2028\u2029\u200B\u202E\uFEFF\uFFFD\u0085\u180E"[random.Next(10)],
        5 => (char)random.Next(0x80, 0xFFFF),
        _ => (char)random.Next(0x20, 0x7F),
    };

    private static string RandomCase(Random random, string s) =>
        string.Concat(s.Select(c => random.Next(2) == 0 ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)));

    private static string Spaces(Random random) => random.Next(4) switch { 0 => " ", 1 => "\t", 2 => "  \t ", _ => string.Empty };

    private static string? ValidateSet(string arguments)
    {
        var parts = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || parts[0] != "relaxation")
        {
            return "expected 'relaxation <value>'";
        }

        return double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 && value < 2
            ? null
            : "relaxation must be a number between 0 and 2";
    }

    private static string Show(string line)
    {
        var shown = string.Concat(line.Take(120).Select(c => c < 0x20 || c is >= '\u007F' and <= '\u00A0' || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString()));
        return $"\"{shown}\"{(line.Length > 120 ? $" ({line.Length} chars)" : string.Empty)}";
    }
}
