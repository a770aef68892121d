using Convergence.Options;

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
        { "--fail-at-iteration", null, "K", "throw at iteration K (with --fail-rank, default rank 1): tests the abort path", (o, v) => o with { FailAtIteration = OptionValue.Long(v, 1, long.MaxValue) } },
        { "--fail-rank", null, "R[,R...]|all", "the rank(s) that throw with --fail-at-iteration (default 1)", (o, v) => o with { FailRanks = Ranks(v) } },
        { "--fail-on", null, "main|thread|thread-stuck|stuck", "throw on the main thread (default), on a background thread, or on one while the main thread stops making progress; stuck: throw nothing, the main thread just stops (a hung rank)", (o, v) => o with { FailOn = Site(v) } },
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

    /// <summary>The ranks that throw (null: every rank).</summary>
    public IReadOnlySet<int>? FailRanks { get; init; } = new HashSet<int> { 1 };

    /// <summary>Where the injected failure is thrown.</summary>
    public FailureSite FailOn { get; init; } = FailureSite.Main;

    /// <summary>True when <paramref name="rank"/> is one that throws.</summary>
    public bool FailsOn(int rank) => FailRanks?.Contains(rank) ?? true;

    private static HashSet<int>? Ranks(string v) =>
        v.Equals("all", StringComparison.OrdinalIgnoreCase)
            ? null
            : v.Split(',').Select(r => OptionValue.Int(r.Trim(), 0, int.MaxValue)).ToHashSet();

    private static FailureSite Site(string v) => OptionValue.OneOf(v, "main", "thread", "thread-stuck", "stuck") switch
    {
        "main" => FailureSite.Main,
        "thread" => FailureSite.Thread,
        "stuck" => FailureSite.Stuck,
        _ => FailureSite.ThreadWhileMainStuck,
    };
}
