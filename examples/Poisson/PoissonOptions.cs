using Convergence.Control;

namespace Convergence.Examples.Poisson;

/// <summary>The example's own command-line options (the framework's are parsed before these).</summary>
public sealed record PoissonOptions
{
    /// <summary>
    /// The example's options, declared in the framework's option table: parsed with the same rules as the
    /// framework's (command line, then environment, then the defaults below) and listed in the same <c>--help</c>.
    /// </summary>
    public static readonly OptionTable<PoissonOptions> Table = new("Poisson options")
    {
        { "--n", "POISSON_N", "N", "interior grid points per side (default 1984)", (o, v) => o with { N = OptionValue.Int(v, 3, 100_000) } },
        { "--method", null, "sor|jacobi", "red-black SOR with the optimal factor (default) or Jacobi", (o, v) => o with { Sor = OptionValue.OneOf(v, "sor", "jacobi") == "sor" } },
        { "--output", null, "DIR", "write the final field as VTK image data (one .vti per rank + .pvti)", (o, v) => o with { OutputDirectory = v } },
        { "--slow-ms", null, "X", "sleep X ms in every iteration (to steer a small run by hand or in tests)", (o, v) => o with { SlowMilliseconds = OptionValue.Double(v, 0, 60_000) } },
        { "--fail-at-iteration", null, "K", "throw at iteration K (with --fail-rank R, default 1): tests the abort path", (o, v) => o with { FailAtIteration = OptionValue.Long(v, 1, long.MaxValue) } },
        { "--fail-rank", null, "R", "the rank that throws with --fail-at-iteration (default 1)", (o, v) => o with { FailRank = OptionValue.Int(v, 0, 1 << 20) } },
    };

    /// <summary>Interior points per side.</summary>
    public int N { get; init; } = 1984;

    /// <summary>Red-black SOR (true) or Jacobi.</summary>
    public bool Sor { get; init; } = true;

    /// <summary>Folder for the final field, or null.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Milliseconds to sleep per iteration.</summary>
    public double SlowMilliseconds { get; init; }

    /// <summary>Iteration (total over the run) at which to throw; 0 for never.</summary>
    public long FailAtIteration { get; init; }

    /// <summary>The rank that throws.</summary>
    public int FailRank { get; init; } = 1;
}
