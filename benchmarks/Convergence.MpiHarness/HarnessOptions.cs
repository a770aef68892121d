using System.Globalization;

namespace Convergence.MpiHarness;

/// <summary>The harness's settings; identical on every rank because every rank parses the same command line.</summary>
internal sealed record HarnessOptions
{
    public const string Usage = """
        usage: mpirun.mpich -np 2 dotnet Convergence.MpiHarness.dll [options]   (Open MPI: mpirun.openmpi -np 2 ...)
          --quick                 tiny iteration counts and trials: checks that everything runs (CI smoke)
          --repeats R             interleaved repeats per variant (default 41)
          --trials T              reaction-latency trials per configuration (default 30)
          --small N               small grid, interior points per side (default 64)
          --large N               large grid (default 512)
          --small-iterations I    iterations per run on the small grid (default 10000)
          --large-iterations I    iterations per run on the large grid (default 500)
          --every K               the every-K cadence's K (default 100)
          --only calls|overhead|latency  run the call costs and that part only
          --checkpoints           run the checkpoint suite only (confirmation collectives, throughput)
          --checkpoint-bytes B    bytes per rank in the throughput rows (default 9961472, 9.5 MiB; 0 skips them)
          --checkpoint-repeats R  interleaved repeats in the checkpoint suite (default 21)
          --checkpoint-calls C    confirmation collectives per repeat and row (default 5000)
          --checkpoint-dir DIR    where the throughput rows write (default the temp folder)
          --resume-suite          run the resume suite only: resume time against checkpoint size (uses --checkpoint-repeats, --checkpoint-dir)
          --resume-sizes B,B,...  bytes per rank of the resume suite's checkpoints (default 1048576,8388608,33554432)
        """;

    public bool Quick { get; init; }

    public int Repeats { get; init; } = 41;

    public int Trials { get; init; } = 30;

    public int SmallN { get; init; } = 64;

    public int LargeN { get; init; } = 512;

    public long SmallIterations { get; init; } = 10_000;

    public long LargeIterations { get; init; } = 500;

    public long EveryK { get; init; } = 100;

    public bool RunOverhead { get; init; } = true;

    public bool RunLatency { get; init; } = true;

    public bool RunCheckpoints { get; init; }

    public int CheckpointBytes { get; init; } = 9_961_472;

    public int CheckpointRepeats { get; init; } = 21;

    public int CheckpointCalls { get; init; } = 5_000;

    public string? CheckpointFolder { get; init; }

    public bool RunResume { get; init; }

    public IReadOnlyList<long> ResumeSizes { get; init; } = [1L << 20, 8L << 20, 32L << 20];

    /// <summary>Parses the command line; throws <see cref="FormatException"/> with a one-line message.</summary>
    public static HarnessOptions Parse(IReadOnlyList<string> args)
    {
        var o = new HarnessOptions();
        if (args.Contains("--quick"))
        {
            // Small enough for a CI smoke run (a few seconds), large enough to exercise every path.
            o = o with { Quick = true, Repeats = 1, Trials = 3, SmallIterations = 300, LargeIterations = 20 };
        }

        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"option {name} needs a value");
            o = name switch
            {
                "--quick" => o,
                "--repeats" => o with { Repeats = (int)Number(name, Value(), 1, 1000) },
                "--trials" => o with { Trials = (int)Number(name, Value(), 1, 10_000) },
                "--small" => o with { SmallN = (int)Number(name, Value(), 4, 100_000) },
                "--large" => o with { LargeN = (int)Number(name, Value(), 4, 100_000) },
                "--small-iterations" => o with { SmallIterations = Number(name, Value(), 1, 1_000_000_000) },
                "--large-iterations" => o with { LargeIterations = Number(name, Value(), 1, 1_000_000_000) },
                "--checkpoints" => o with { RunCheckpoints = true },
                "--checkpoint-bytes" => o with { CheckpointBytes = (int)Number(name, Value(), 0, 1_000_000_000) },
                "--checkpoint-repeats" => o with { CheckpointRepeats = (int)Number(name, Value(), 1, 1000) },
                "--checkpoint-calls" => o with { CheckpointCalls = (int)Number(name, Value(), 1, 10_000_000) },
                "--checkpoint-dir" => o with { CheckpointFolder = Value() },
                "--resume-suite" => o with { RunResume = true },
                "--resume-sizes" => o with { ResumeSizes = Value().Split(',').Select(v => Number(name, v, 8, 1_000_000_000)).ToList() },
                "--every" => o with { EveryK = Number(name, Value(), 1, 1_000_000_000) },
                "--only" => Value() switch
                {
                    "overhead" => o with { RunLatency = false },
                    "latency" => o with { RunOverhead = false },
                    "calls" => o with { RunOverhead = false, RunLatency = false },
                    var v => throw new FormatException($"--only must be calls, overhead or latency, got '{v}'"),
                },
                _ => throw new FormatException($"unknown option '{name}'"),
            };
        }

        return o;
    }

    private static long Number(string name, string text, long min, long max) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new FormatException($"option {name}: '{text}' is not a whole number from {min} to {max}");
}
