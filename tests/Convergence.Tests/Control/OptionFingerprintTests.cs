using System.Reflection;
using Convergence.Checkpoints;
using Convergence.Criteria;
using Convergence.Options;
using Convergence.Signals;

namespace Convergence.Tests.Control;

/// <summary>The ranks' agreement check: a hash of the option values themselves, not of the log line.</summary>
public sealed class OptionFingerprintTests
{
    private static readonly OptionTable<Sample> SolverTable = new("Sample options")
    {
        { "--n", "SAMPLE_N", "N", "grid points per side", (o, v) => o with { N = OptionValue.Int(v, 3, 1000) } },
        { "--omega", null, "W", "relaxation factor", (o, v) => o with { Omega = OptionValue.Double(v, 0, 2) } },
    };

    /// <summary>For each settable option, a value other than the default (the test below checks that every one is here).</summary>
    private static readonly Dictionary<string, Func<RunOptions, RunOptions>> Changes = new()
    {
        [nameof(RunOptions.ServiceDirectory)] = o => o with { ServiceDirectory = "/elsewhere" },
        [nameof(RunOptions.JobName)] = o => o with { JobName = "other" },
        [nameof(RunOptions.Tolerance)] = o => o with { Tolerance = 2e-6 },
        [nameof(RunOptions.MaxIterations)] = o => o with { MaxIterations = 7 },
        [nameof(RunOptions.Sync)] = o => o with { Sync = SyncPolicy.Every(3) },
        [nameof(RunOptions.PollInterval)] = o => o with { PollInterval = TimeSpan.FromMilliseconds(251) },
        [nameof(RunOptions.UseChangeNotifications)] = o => o with { UseChangeNotifications = false },
        [nameof(RunOptions.ReplayExistingNotifications)] = o => o with { ReplayExistingNotifications = true },
        [nameof(RunOptions.MaxLineBytes)] = o => o with { MaxLineBytes = 4097 },
        [nameof(RunOptions.StatusInterval)] = o => o with { StatusInterval = TimeSpan.FromSeconds(2) },
        [nameof(RunOptions.ProgressInterval)] = o => o with { ProgressInterval = TimeSpan.FromSeconds(6) },
        [nameof(RunOptions.CheckpointDirectory)] = o => o with { CheckpointDirectory = "/scratch/x" },
        [nameof(RunOptions.CheckpointEvery)] = o => o with { CheckpointEvery = CheckpointPeriod.EveryIterations(100) },
        [nameof(RunOptions.CheckpointKeep)] = o => o with { CheckpointKeep = 4 },
        [nameof(RunOptions.CheckpointSharedDirectory)] = o => o with { CheckpointSharedDirectory = "/shared/ckpt" },
        [nameof(RunOptions.Resume)] = o => o with { Resume = true },
        [nameof(RunOptions.ResumeFrom)] = o => o with { ResumeFrom = 3 },
        [nameof(RunOptions.Signals)] = o => o with { Signals = SignalMap.Parse("TERM=stop,INT=stop,USR1=deadline") },
        [nameof(RunOptions.Deadline)] = o => o with { Deadline = DateTimeOffset.UnixEpoch },
        [nameof(RunOptions.DeadlineMargin)] = o => o with { DeadlineMargin = TimeSpan.FromSeconds(11) },
        [nameof(RunOptions.DeadlineFromScheduler)] = o => o with { DeadlineFromScheduler = true },
        [nameof(RunOptions.SlurmJobId)] = o => o with { SlurmJobId = "42" },
        [nameof(RunOptions.SlurmEndTimeEvery)] = o => o with { SlurmEndTimeEvery = TimeSpan.FromSeconds(61) },
        [nameof(RunOptions.ChainLink)] = o => o with { ChainLink = 1, ChainMax = 0 },
        [nameof(RunOptions.ChainMax)] = o => o with { ChainMax = 3 },
        [nameof(RunOptions.ChainNextJob)] = o => o with { ChainNextJob = "43" },
        [nameof(RunOptions.RelativeTolerance)] = o => o with { RelativeTolerance = true },
        [nameof(RunOptions.DivergenceFactor)] = o => o with { DivergenceFactor = 1e4 },
        [nameof(RunOptions.Stagnation)] = o => o with { Stagnation = new StagnationRule(200, 0.01, false) },
        [nameof(RunOptions.StallTimeout)] = o => o with { StallTimeout = TimeSpan.FromSeconds(10) },

        // Whether the tolerance was given counts on resume only (it decides between it and the checkpoint's): see the test below.
        [nameof(RunOptions.Given)] = o => o with { Resume = true, Given = new Dictionary<string, string> { ["--tolerance"] = "option --tolerance" } },
    };

    private static double Of(RunOptions options) => options.Fingerprint().ToDouble();

    [Fact]
    public void ToleranceDifferingInTheTenthDigit_GivesAnotherFingerprint_ThoughTheLogLineIsTheSame()
    {
        var a = new RunOptions { Tolerance = 1.000000000e-6 };
        var b = new RunOptions { Tolerance = 1.000000001e-6 };

        Assert.Equal(a.Describe(), b.Describe());
        Assert.NotEqual(Of(a), Of(b));
    }

    [Fact]
    public void TheSameValues_GiveTheSameFingerprint_HoweverTheyWereWritten()
    {
        var parsed = RunOptions.Parse(["--tolerance", "1e-6", "--sync", "every:10", "--checkpoint-every", "30s"], out _, environment: _ => null);
        var built = new RunOptions { Tolerance = 0.000001, Sync = SyncPolicy.Every(10), CheckpointEvery = CheckpointPeriod.EveryInterval(TimeSpan.FromSeconds(30)) };

        Assert.Equal(Of(built), Of(parsed));
        Assert.Equal(built.Fingerprint().Value, parsed.Fingerprint().Value);
    }

    [Fact]
    public void EverySettableOption_ChangesTheFingerprint()
    {
        var settable = typeof(RunOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is not null)
            .Select(p => p.Name)
            .Order(StringComparer.Ordinal)
            .ToList();

        // A new option must be added to RunOptions.Fingerprint and to the table above.
        Assert.Equal(settable, Changes.Keys.Order(StringComparer.Ordinal).ToList());
        var baseline = Of(new RunOptions());
        foreach (var (name, change) in Changes)
        {
            Assert.True(Of(change(new RunOptions())) != baseline, $"changing {name} left the fingerprint as it was");
        }
    }

    [Fact]
    public void OnResume_WhetherTheToleranceWasGiven_ChangesTheFingerprint()
    {
        // One rank with CONVERGENCE_TOLERANCE set to the default's value, another without: on resume the
        // first keeps it and the second takes the checkpoint's, so they must not start.
        var given = new Dictionary<string, string> { ["--tolerance"] = "environment variable CONVERGENCE_TOLERANCE" };

        Assert.NotEqual(Of(new RunOptions { Resume = true }), Of(new RunOptions { Resume = true, Given = given }));
        Assert.Equal(Of(new RunOptions()), Of(new RunOptions { Given = given }));
    }

    [Fact]
    public void TheDeadline_CountsAsSetOrNot_BecauseARelativeOneResolvesOnEachRanksClock()
    {
        var soon = new RunOptions { Deadline = DateTimeOffset.UnixEpoch.AddSeconds(1000) };
        var later = new RunOptions { Deadline = DateTimeOffset.UnixEpoch.AddSeconds(1000.003) };

        Assert.Equal(Of(soon), Of(later));
        Assert.NotEqual(Of(new RunOptions()), Of(soon));
    }

    [Fact]
    public void ASolverArgumentDiffering_GivesAnotherFingerprint()
    {
        double Solver(string[] args, string? sampleN = null)
        {
            var fingerprint = new RunOptions().Fingerprint();
            SolverTable.ParseAll(args, new Sample(), name => name == "SAMPLE_N" ? sampleN : null, fingerprint, []);
            return fingerprint.ToDouble();
        }

        var reference = Solver(["--n", "64", "--omega", "1.9"]);
        Assert.Equal(reference, Solver(["--omega", "1.9", "--n", "64"]));
        Assert.NotEqual(reference, Solver(["--n", "65", "--omega", "1.9"]));
        Assert.NotEqual(reference, Solver(["--n", "64", "--omega", "1.9000000001"]));
        Assert.NotEqual(reference, Solver(["--n", "64"]));

        // The environment counts where it decides the value, and not where the command line overrides it.
        Assert.NotEqual(Solver(["--omega", "1.9"]), Solver(["--omega", "1.9"], sampleN: "64"));
        Assert.Equal(reference, Solver(["--n", "64", "--omega", "1.9"], sampleN: "50"));
    }

    [Fact]
    public void ArgumentsAndTexts_CannotSlideIntoEachOther()
    {
        Assert.NotEqual(new OptionFingerprint().Add("args", ["ab", "c"]).Value, new OptionFingerprint().Add("args", ["a", "bc"]).Value);
        Assert.NotEqual(new OptionFingerprint().Add("name", (string?)null).Value, new OptionFingerprint().Add("name", string.Empty).Value);
        Assert.NotEqual(new OptionFingerprint().Add("x", 0.0).Value, new OptionFingerprint().Add("x", -0.0).Value);
        Assert.True(new OptionFingerprint().Add("x", 1L).ToDouble() < (1L << 52));
    }

    private sealed record Sample
    {
        public int N { get; init; } = 10;

        public double Omega { get; init; } = 1.5;
    }
}
