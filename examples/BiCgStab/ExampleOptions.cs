using System.Globalization;
using Convergence.Control;

namespace Convergence.Examples.BiCgStab;

/// <summary>The example's own options (the framework's are parsed before these).</summary>
public sealed record ExampleOptions
{
    /// <summary>The options as help text.</summary>
    public const string Help =
        "  --n N                interior grid points per side (default 64; unknowns = N*N)\n" +
        "  --wind W             convection speed along both axes (default 20; 0 = Poisson)\n" +
        "  --method M           bicgstab | gpbicg | tfqmr | mlkbicgstab (default bicgstab)\n" +
        "  --preconditioner P   none | diagonal | ilu0 (default none)\n" +
        "  --slow-ms MS         sleep MS per iteration, to watch and steer a small solve (default 0)\n" +
        "  --output FILE        write the solution as VTK image data (legacy .vtk) to FILE";

    /// <summary>Interior grid points per side.</summary>
    public int N { get; init; } = 64;

    /// <summary>Convection speed along x and y.</summary>
    public double Wind { get; init; } = 20;

    /// <summary>The MathNet solver.</summary>
    public string Method { get; init; } = "bicgstab";

    /// <summary>The preconditioner.</summary>
    public string Preconditioner { get; init; } = "none";

    /// <summary>Sleep per iteration in milliseconds.</summary>
    public double SlowMs { get; init; }

    /// <summary>Where to write the solution, or null.</summary>
    public string? Output { get; init; }

    /// <summary>Parses the arguments the framework left; throws <see cref="OptionsException"/> with a one-line message.</summary>
    public static ExampleOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ExampleOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[..eq] : arg;
            string Value() => eq > 0 ? arg[(eq + 1)..]
                : i + 1 < args.Count ? args[++i]
                : throw new OptionsException($"option {name} needs a value");
            o = name switch
            {
                "--n" => o with { N = Int(name, Value(), 2, 4096) },
                "--wind" => o with { Wind = Double(name, Value(), 0, 1e6) },
                "--method" => o with { Method = OneOf(name, Value(), "bicgstab", "gpbicg", "tfqmr", "mlkbicgstab") },
                "--preconditioner" => o with { Preconditioner = OneOf(name, Value(), "none", "diagonal", "ilu0") },
                "--slow-ms" => o with { SlowMs = Double(name, Value(), 0, 60_000) },
                "--output" => o with { Output = Value() },
                _ => throw new OptionsException($"unknown option '{arg}'"),
            };
        }

        return o;
    }

    private static int Int(string name, string v, int min, int max) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= min && i <= max
            ? i
            : throw new OptionsException($"option {name}: '{v}' is not a whole number from {min} to {max}");

    private static double Double(string name, string v, double min, double max) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= min && d <= max
            ? d
            : throw new OptionsException($"option {name}: '{v}' is not a number from {min} to {max}");

    private static string OneOf(string name, string v, params string[] allowed) =>
        Array.Find(allowed, a => a.Equals(v, StringComparison.OrdinalIgnoreCase))
        ?? throw new OptionsException($"option {name}: '{v}' is not one of {string.Join(", ", allowed)}");
}
