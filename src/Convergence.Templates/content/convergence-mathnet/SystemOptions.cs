using Convergence.Options;

namespace SparseSolve;

/// <summary>The job's options, declared in the framework's option table (same rules, same --help, same errors).</summary>
internal sealed record SystemOptions
{
    /// <summary>The table: option, environment variable (or null), value name, help line, how a value applies.</summary>
    public static readonly OptionTable<SystemOptions> Table = new("System options")
    {
        { "--n", null, "N", "interior grid points per side (default 64; unknowns = N*N)", (o, v) => o with { N = OptionValue.Int(v, 2, 4096) } },
        { "--wind", null, "W", "convection speed along both axes (default 20; 0 = Poisson)", (o, v) => o with { Wind = OptionValue.Double(v, 0, 1e6) } },
        { "--slow-ms", null, "MS", "sleep MS per iteration, to watch and steer a small solve by hand (default 0)", (o, v) => o with { SlowMilliseconds = OptionValue.Double(v, 0, 60_000) } },
    };

    /// <summary>Interior grid points per side.</summary>
    public int N { get; init; } = 64;

    /// <summary>Convection speed along x and y.</summary>
    public double Wind { get; init; } = 20;

    /// <summary>Milliseconds to sleep per iteration.</summary>
    public double SlowMilliseconds { get; init; }
}
