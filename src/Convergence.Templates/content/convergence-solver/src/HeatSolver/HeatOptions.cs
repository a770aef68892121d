using Convergence.Options;

namespace HeatSolver;

/// <summary>
/// The solver's own options. They are declared in the framework's option table, so they follow its rules
/// (command line, then environment, then the defaults below), show in the same --help and fail the same way.
/// </summary>
internal sealed record HeatOptions
{
    /// <summary>The table: option, environment variable (or null), value name, help line, how a value applies.</summary>
    public static readonly OptionTable<HeatOptions> Table = new("Heat solver options")
    {
        { "--n", "HEAT_N", "N", "interior grid points per side (default 256)", (o, v) => o with { N = OptionValue.Int(v, 3, 100_000) } },
        { "--source", null, "Q", "uniform heat source (default 1); the SOURCE command changes it while the job runs", (o, v) => o with { Source = OptionValue.Double(v, 0, 1e6) } },
        { "--slow-ms", null, "MS", "sleep MS in every iteration, to watch and steer a small run by hand (default 0)", (o, v) => o with { SlowMilliseconds = OptionValue.Double(v, 0, 60_000) } },
    };

    /// <summary>Interior grid points per side.</summary>
    public int N { get; init; } = 256;

    /// <summary>The heat source q in -Δu = q.</summary>
    public double Source { get; init; } = 1;

    /// <summary>Milliseconds to sleep per iteration.</summary>
    public double SlowMilliseconds { get; init; }
}
