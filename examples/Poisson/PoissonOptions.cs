using System.Globalization;
using Convergence.Control;

namespace Convergence.Examples.Poisson;

/// <summary>The example's own command-line options (the framework's are parsed before these).</summary>
public sealed record PoissonOptions
{
    /// <summary>The options as help text.</summary>
    public const string Help = """
          --n N                  interior grid points per side (default 1984)
          --method sor|jacobi    red-black SOR with the optimal factor (default) or Jacobi
          --output DIR           write the final field as VTK image data (one .vti per rank + .pvti)
          --slow-ms X            sleep X ms in every iteration (to steer a small run by hand or in tests)
          --fail-at-iteration K  throw at iteration K (with --fail-rank R, default 1): tests the abort path
          --fail-rank R[,R…]|all the rank(s) that throw
          --fail-on main|thread|thread-stuck
                                 throw on the main thread (default), on a new background thread, or on
                                 a background thread while the main thread stops making progress
          message RELAXATION W   while it runs: SOR factor (0 < W < 2) or Jacobi weight (0 < W <= 1)
        """;

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

    /// <summary>Parses the arguments the framework left.</summary>
    /// <exception cref="OptionsException">An unknown option or a bad value.</exception>
    public static PoissonOptions Parse(IReadOnlyList<string> args)
    {
        var o = new PoissonOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new OptionsException($"option {name} needs a value");
            o = name switch
            {
                "--n" => o with { N = (int)Number(name, Value(), 3, 100_000) },
                "--method" => o with { Sor = Method(Value()) },
                "--output" => o with { OutputDirectory = Value() },
                "--slow-ms" => o with { SlowMilliseconds = Number(name, Value(), 0, 60_000) },
                "--fail-at-iteration" => o with { FailAtIteration = (long)Number(name, Value(), 1, long.MaxValue) },
                "--fail-rank" => o with { FailRanks = Ranks(name, Value()) },
                "--fail-on" => o with { FailOn = Site(Value()) },
                _ => throw new OptionsException($"unknown option '{name}'"),
            };
        }

        return o;
    }

    private static HashSet<int>? Ranks(string name, string v) =>
        v.Equals("all", StringComparison.OrdinalIgnoreCase)
            ? null
            : v.Split(',').Select(r => (int)Number(name, r.Trim(), 0, int.MaxValue)).ToHashSet();

    private static FailureSite Site(string v) => v.ToLowerInvariant() switch
    {
        "main" => FailureSite.Main,
        "thread" => FailureSite.Thread,
        "thread-stuck" => FailureSite.ThreadWhileMainStuck,
        _ => throw new OptionsException($"--fail-on must be main, thread or thread-stuck, got '{v}'"),
    };

    private static bool Method(string v) => v.ToLowerInvariant() switch
    {
        "sor" => true,
        "jacobi" => false,
        _ => throw new OptionsException($"--method must be sor or jacobi, got '{v}'"),
    };

    private static double Number(string name, string v, double min, double max) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= min && d <= max
            ? d
            : throw new OptionsException($"option {name}: '{v}' is not a number from {min} to {max}");
}
