using System.Globalization;
using System.Text;

namespace Convergence.Commands;

/// <summary>
/// The declared kind and range of a custom command's one argument: a number with open or closed bounds, a
/// whole number with bounds, or one word from a list. Declared once, it is what rank 0 checks before the
/// command is sent, what <see cref="ControlCommand.Value"/> carries to every rank, and what the status page's
/// form offers (a number field with its bounds, or a list).
/// </summary>
/// <remarks>Immutable and safe to share between threads; its factories validate the declaration.</remarks>
public sealed class CommandArgument
{
    // Whole numbers travel as a double (ControlCommand.Value); beyond 2^53 not every one of them is exact.
    private const long LargestExactInteger = 1L << 53;

    private readonly string[] _choices;

    private CommandArgument(ArgumentKind kind, double? minimum, double? maximum, bool excludeMinimum, bool excludeMaximum, string[] choices)
    {
        Kind = kind;
        Minimum = minimum;
        Maximum = maximum;
        ExcludesMinimum = minimum is not null && excludeMinimum;
        ExcludesMaximum = maximum is not null && excludeMaximum;
        _choices = choices;
        Range = kind == ArgumentKind.Choice ? string.Join(", ", choices) : Interval();
        Expected = kind switch
        {
            ArgumentKind.Number => Range.Length == 0 ? "a number" : $"a number in {Range}",
            ArgumentKind.WholeNumber => Range.Length == 0 ? "a whole number" : $"a whole number in {Range}",
            _ => $"one of {Range}",
        };
    }

    /// <summary>What the argument is.</summary>
    public ArgumentKind Kind { get; }

    /// <summary>The lower bound of a number or whole number; null when there is none.</summary>
    public double? Minimum { get; }

    /// <summary>The upper bound of a number or whole number; null when there is none.</summary>
    public double? Maximum { get; }

    /// <summary>True when the lower bound itself is not allowed (an open bound, written <c>(</c>).</summary>
    public bool ExcludesMinimum { get; }

    /// <summary>True when the upper bound itself is not allowed (an open bound, written <c>)</c>).</summary>
    public bool ExcludesMaximum { get; }

    /// <summary>The words of a <see cref="ArgumentKind.Choice"/>, as declared; empty for numbers.</summary>
    public IReadOnlyList<string> Choices => _choices;

    /// <summary>The range as rejections show it: <c>(0, 2)</c>, <c>[1, 100]</c>, <c>(0, ∞)</c>, or the choices; empty when unbounded.</summary>
    public string Range { get; }

    /// <summary>What is expected, for usage texts and messages: <c>a number in (0, 2)</c>, <c>one of jacobi, sor</c>.</summary>
    public string Expected { get; }

    /// <summary>The usage text shown for a command with this argument: <c>NAME &lt;a number in (0, 2)&gt;</c> or <c>NAME jacobi|sor</c>.</summary>
    /// <param name="name">The command's name.</param>
    public string Usage(string name) =>
        Kind == ArgumentKind.Choice ? $"{name} {string.Join('|', _choices)}" : $"{name} <{Expected}>";

    /// <summary>A finite decimal number, such as a relaxation factor in (0, 2).</summary>
    /// <param name="minimum">The lower bound, or null for none.</param>
    /// <param name="maximum">The upper bound, or null for none.</param>
    /// <param name="excludeMinimum">True for an open lower bound (the bound itself is refused).</param>
    /// <param name="excludeMaximum">True for an open upper bound (the bound itself is refused).</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not finite, or the range is empty.</exception>
    public static CommandArgument Number(double? minimum = null, double? maximum = null, bool excludeMinimum = false, bool excludeMaximum = false)
    {
        if (minimum is { } low && !double.IsFinite(low))
        {
            throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "A bound must be a finite number; leave it null for none.");
        }

        if (maximum is { } high && !double.IsFinite(high))
        {
            throw new ArgumentOutOfRangeException(nameof(maximum), maximum, "A bound must be a finite number; leave it null for none.");
        }

        if (minimum is { } a && maximum is { } b && (a > b || (a == b && (excludeMinimum || excludeMaximum))))
        {
            throw new ArgumentOutOfRangeException(nameof(maximum), maximum, $"The range from {minimum} to {maximum} holds no number.");
        }

        return new CommandArgument(ArgumentKind.Number, minimum, maximum, excludeMinimum, excludeMaximum, []);
    }

    /// <summary>A whole number, such as a count of levels from 1 to 10 (both bounds allowed).</summary>
    /// <param name="minimum">The smallest value allowed, or null for none.</param>
    /// <param name="maximum">The largest value allowed, or null for none.</param>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A bound is beyond ±2^53 (the value travels as a double), or <paramref name="minimum"/> is above <paramref name="maximum"/>.
    /// </exception>
    public static CommandArgument WholeNumber(long? minimum = null, long? maximum = null)
    {
        if (minimum is { } low && Math.Abs(low) > LargestExactInteger)
        {
            throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "Whole-number bounds must be within ±2^53.");
        }

        if (maximum is { } high && Math.Abs(high) > LargestExactInteger)
        {
            throw new ArgumentOutOfRangeException(nameof(maximum), maximum, "Whole-number bounds must be within ±2^53.");
        }

        if (minimum > maximum)
        {
            throw new ArgumentOutOfRangeException(nameof(maximum), maximum, $"The range from {minimum} to {maximum} holds no number.");
        }

        return new CommandArgument(ArgumentKind.WholeNumber, minimum, maximum, false, false, []);
    }

    /// <summary>One word from a list, such as <c>jacobi</c> or <c>gauss-seidel</c>; matched case-insensitively.</summary>
    /// <param name="choices">The words: no white space, not starting with <c>#</c>, distinct ignoring case.</param>
    /// <exception cref="ArgumentException">The list is empty, or a word is empty, repeated or not a single word.</exception>
    public static CommandArgument Choice(params string[] choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Length == 0)
        {
            throw new ArgumentException("A choice needs at least one word.", nameof(choices));
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var word in choices)
        {
            if (string.IsNullOrEmpty(word) || word[0] == '#' || word.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '|')
                || Encoding.UTF8.GetByteCount(word) > CommandParser.MaxArgumentBytes)
            {
                throw new ArgumentException(
                    $"Choice '{word}' must be one word of at most {CommandParser.MaxArgumentBytes} bytes, without white space or '|', not starting with '#'.",
                    nameof(choices));
            }

            if (!seen.Add(word))
            {
                throw new ArgumentException($"Choice '{word}' is listed twice (choices are matched ignoring case).", nameof(choices));
            }
        }

        return new CommandArgument(ArgumentKind.Choice, null, null, false, false, [.. choices]);
    }

    /// <summary>
    /// Checks an argument text as rank 0 does before the command is sent. Never throws.
    /// </summary>
    /// <param name="text">The argument text, trimmed.</param>
    /// <param name="value">The number, the whole number, or the index of the choice in <see cref="Choices"/>.</param>
    /// <param name="canonical">The text to send on: as typed for numbers, the declared spelling for a choice.</param>
    /// <param name="error">Null when accepted, else a one-line reason such as <c>2.5 is out of range (0, 2)</c>.</param>
    /// <returns>True when the text is acceptable.</returns>
    public bool TryParse(string text, out double value, out string canonical, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = 0;
        canonical = text;
        if (text.Length == 0)
        {
            error = $"expected {Expected}, got nothing";
            return false;
        }

        var shown = CommandParser.Shorten(text);
        switch (Kind)
        {
            case ArgumentKind.Choice:
                var index = Array.FindIndex(_choices, c => c.Equals(text, StringComparison.OrdinalIgnoreCase));
                if (index < 0)
                {
                    error = $"'{shown}' is not {Expected}";
                    return false;
                }

                value = index;
                canonical = _choices[index];
                error = null;
                return true;
            case ArgumentKind.WholeNumber:
                if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
                {
                    error = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction) && double.IsFinite(fraction)
                        ? $"{shown} is not a whole number; expected {Expected}"
                        : $"'{shown}' is not a number; expected {Expected}";
                    return false;
                }

                value = whole;
                break;
            default:
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
                {
                    error = $"'{shown}' is not a number; expected {Expected}";
                    return false;
                }

                if (!double.IsFinite(value))
                {
                    value = 0;
                    error = $"'{shown}' is not a finite number; expected {Expected}";
                    return false;
                }

                break;
        }

        var tooLow = Minimum is { } min && (ExcludesMinimum ? value <= min : value < min);
        var tooHigh = Maximum is { } max && (ExcludesMaximum ? value >= max : value > max);
        if (tooLow || tooHigh)
        {
            value = 0;
            error = $"{shown} is out of range {Range}";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>A bound as pages and messages show it: the shortest text that reads back as the same double.</summary>
    internal static string Format(double bound) => bound.ToString("R", CultureInfo.InvariantCulture);

    private string Interval()
    {
        if (Minimum is null && Maximum is null)
        {
            return string.Empty;
        }

        var low = Minimum is { } min ? (ExcludesMinimum ? "(" : "[") + Format(min) : "(-∞";
        var high = Maximum is { } max ? Format(max) + (ExcludesMaximum ? ")" : "]") : "∞)";
        return $"{low}, {high}";
    }
}
