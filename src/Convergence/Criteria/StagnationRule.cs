using System.Globalization;

namespace Convergence.Criteria;

/// <summary>
/// The <c>--stagnation WINDOW:FRACTION[:warn]</c> setting: the run has stagnated when its best residual has
/// not improved by more than <see cref="Fraction"/> over the last <see cref="Window"/> iterations.
/// </summary>
/// <param name="Window">Iterations looked back over (2 to 1,000,000).</param>
/// <param name="Fraction">The improvement that counts, as a fraction of the best residual a window ago (0 to 1, exclusive).</param>
/// <param name="WarnOnly">True: keep running and say "not converging at this rate"; false: end the run as <c>STAGNATED</c>.</param>
public sealed record StagnationRule(int Window, double Fraction, bool WarnOnly)
{
    /// <summary>The largest window: the test keeps one double per iteration of it.</summary>
    public const int MaxWindow = 1_000_000;

    /// <summary>Parses <c>WINDOW:FRACTION[:warn]</c>, e.g. <c>200:0.01</c> or <c>500:1e-3:warn</c>; <c>off</c> is null.</summary>
    /// <exception cref="FormatException">The text is not of that form or a value is out of range; the message says which.</exception>
    public static StagnationRule? Parse(string text)
    {
        var value = text.Trim();
        if (value.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var parts = value.Split(':');
        if (parts.Length is < 2 or > 3
            || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var window)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction)
            || (parts.Length == 3 && !parts[2].Equals("warn", StringComparison.OrdinalIgnoreCase)))
        {
            throw new FormatException($"'{text}' is not WINDOW:FRACTION[:warn] (e.g. 200:0.01 or 500:1e-3:warn) or off");
        }

        if (window is < 2 or > MaxWindow || !(fraction > 0 && fraction < 1))
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"'{text}': the window must be 2 to {MaxWindow} iterations and the fraction between 0 and 1 (e.g. 200:0.01)"));
        }

        return new StagnationRule(window, fraction, parts.Length == 3);
    }

    /// <summary>The setting as it is written on the command line.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Window}:{Fraction:R}{(WarnOnly ? ":warn" : string.Empty)}");
}
