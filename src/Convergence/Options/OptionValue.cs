using System.Globalization;

namespace Convergence.Options;

/// <summary>
/// Value parsers for <see cref="OptionTable{T}"/> rows. Each throws <see cref="FormatException"/> whose
/// message says what was wrong and what is accepted; the table adds which option or variable it came from.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "Each parser is named after the value it returns (OptionValue.Int, OptionValue.Double), which is what a solver's option table reads; renaming would break every solver's table.")]
public static class OptionValue
{
    /// <summary>A finite number from <paramref name="min"/> to <paramref name="max"/> (invariant culture, <c>1e-8</c> style).</summary>
    public static double Double(string value, double min = double.MinValue, double max = double.MaxValue) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) && d >= min && d <= max
            ? d
            : throw new FormatException(min == double.MinValue && max == double.MaxValue
                ? $"'{value}' is not a number (e.g. 1e-8)"
                : $"'{value}' is not a number from {Text(min)} to {Text(max)}");

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; <c>_</c> may group digits (<c>1_000</c>).</summary>
    public static int Int(string value, int min = int.MinValue, int max = int.MaxValue) =>
        (int)Long(value, min, max);

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; <c>_</c> may group digits.</summary>
    public static long Long(string value, long min = long.MinValue, long max = long.MaxValue) =>
        long.TryParse(value?.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) && l >= min && l <= max
            ? l
            : throw new FormatException(min == long.MinValue && max == long.MaxValue
                ? $"'{value}' is not a whole number"
                : $"'{value}' is not a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");

    /// <summary><c>on</c>/<c>off</c> (also <c>true</c>/<c>false</c>, <c>yes</c>/<c>no</c>, <c>1</c>/<c>0</c>).</summary>
    public static bool Switch(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "on" or "true" or "1" or "yes" => true,
        "off" or "false" or "0" or "no" => false,
        _ => throw new FormatException($"'{value}' is not on or off"),
    };

    /// <summary>One of <paramref name="allowed"/>, ignoring case; returns the allowed spelling.</summary>
    public static string OneOf(string value, params string[] allowed)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        return Array.Find(allowed, a => a.Equals(value?.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new FormatException($"'{value}' is not one of {string.Join(", ", allowed)}");
    }

    private static string Text(double d) => d switch
    {
        double.MinValue => "-inf",
        double.MaxValue => "inf",
        _ => d.ToString(CultureInfo.InvariantCulture),
    };
}
