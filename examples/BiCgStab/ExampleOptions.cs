using Convergence.Options;

namespace Convergence.Examples.BiCgStab;

/// <summary>The example's own options (the framework's are parsed before these).</summary>
public sealed record ExampleOptions
{
    /// <summary>The example's options, in the framework's option table (one parser, one help, one error style).</summary>
    public static readonly OptionTable<ExampleOptions> Table = new("BiCgStab example options")
    {
        { "--n", null, "N", "interior grid points per side (default 64; unknowns = N*N)", (o, v) => o with { N = OptionValue.Int(v, 2, 4096) } },
        { "--wind", null, "W", "convection speed along both axes (default 20; 0 = Poisson)", (o, v) => o with { Wind = OptionValue.Double(v, 0, 1e6) } },
        { "--method", null, "M", "bicgstab | gpbicg | tfqmr | mlkbicgstab (default bicgstab)", (o, v) => o with { Method = OptionValue.OneOf(v, "bicgstab", "gpbicg", "tfqmr", "mlkbicgstab") } },
        { "--preconditioner", null, "P", "none | diagonal | ilu0 (default none)", (o, v) => o with { Preconditioner = OptionValue.OneOf(v, "none", "diagonal", "ilu0") } },
        { "--slow-ms", null, "MS", "sleep MS per iteration, to watch and steer a small solve (default 0)", (o, v) => o with { SlowMs = OptionValue.Double(v, 0, 60_000) } },
        { "--output", null, "FILE", "write the solution as VTK image data (legacy .vtk) to FILE", (o, v) => o with { Output = v } },
    };

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
}
