using Convergence.Checkpoints;
using Convergence.Criteria;
using Convergence.Options;

namespace Convergence.Tests.Control;

/// <summary>Options are checked where they are set: a <see cref="RunOptions"/> that exists holds valid values.</summary>
public sealed class OptionValidationTests
{
    public static TheoryData<string, Func<RunOptions>> Refused => new()
    {
        { "--service must be a folder (not empty), got ' '", () => new RunOptions { ServiceDirectory = " " } },
        { "--tolerance must be a positive finite number (e.g. 1e-8), got -1", () => new RunOptions { Tolerance = -1 } },
        { "--tolerance must be a positive finite number (e.g. 1e-8), got NaN", () => new RunOptions { Tolerance = double.NaN } },
        { "--max-iterations must be at least 1, got 0", () => new RunOptions { MaxIterations = 0 } },
        { "--sync must be adaptive[:MS] with MS > 0, every:K with K >= 1, or piggyback, got every:0", () => new RunOptions { Sync = new SyncPolicy(SyncMode.EveryK, TimeSpan.Zero, 0) } },
        { "--poll-ms must be 1 to 600000 ms, got 0 ms", () => new RunOptions { PollInterval = TimeSpan.Zero } },
        { "--max-line-bytes must be 64 to 1048576, got 63", () => new RunOptions { MaxLineBytes = 63 } },
        { "--status-ms must be at least 50 ms, got 49 ms", () => new RunOptions { StatusInterval = TimeSpan.FromMilliseconds(49) } },
        { "--progress-ms must be at least 100 ms, got 99 ms", () => new RunOptions { ProgressInterval = TimeSpan.FromMilliseconds(99) } },
        { "--checkpoint-dir must be a folder (not empty), got ''", () => new RunOptions { CheckpointDirectory = string.Empty } },
        { "--checkpoint-every must be N iterations (N >= 1) or a time above zero (30s, 15m), not both, got 0 iterations and 0 s", () => new RunOptions { CheckpointEvery = new CheckpointPeriod(0, TimeSpan.Zero) } },
        { "--checkpoint-keep must be 1 to 10000, got 0", () => new RunOptions { CheckpointKeep = 0 } },
        { "--deadline-margin must be zero or more (e.g. 10s), got -1 s", () => new RunOptions { DeadlineMargin = TimeSpan.FromSeconds(-1) } },
        { "--slurm-end-time must be on, off or at least 5s, got 4 s", () => new RunOptions { SlurmEndTimeEvery = TimeSpan.FromSeconds(4) } },
        { "--chain-link must be 0 (not chained) or more, got -1", () => new RunOptions { ChainLink = -1 } },
        { "--chain-max must be 0 or more, got -2", () => new RunOptions { ChainMax = -2 } },
        { "--chain-next-job must be a job id (not empty), got ''", () => new RunOptions { ChainNextJob = string.Empty } },
        { "--divergence-factor must be a finite number above 1 (e.g. 1e4) or off, got 1", () => new RunOptions { DivergenceFactor = 1 } },
        { "--stagnation must be WINDOW:FRACTION with a window of 2 to 1000000 and a fraction between 0 and 1, got 1:0.5", () => new RunOptions { Stagnation = new StagnationRule(1, 0.5, false) } },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void AnOutOfRangeValue_IsRefusedWhereItIsSet_InOneLineNamingTheOption(string message, Func<RunOptions> build)
    {
        var ex = Assert.Throws<OptionsException>(build);
        Assert.Equal(message, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void AWithExpression_IsCheckedToo_AndTheOriginalStaysAsItWas()
    {
        var valid = new RunOptions { Tolerance = 1e-3 };

        Assert.Throws<OptionsException>(() => valid with { Tolerance = 0 });
        Assert.Equal(1e-3, valid.Tolerance);
        Assert.Equal(5e-4, (valid with { Tolerance = 5e-4 }).Tolerance);
    }

    [Fact]
    public void AValueFromTheEnvironment_NamesTheVariableAndTheOption()
    {
        var env = new Dictionary<string, string> { ["CONVERGENCE_CHECKPOINT_KEEP"] = "0" };

        var ex = Assert.Throws<OptionsException>(() => RunOptions.Parse([], out _, environment: env.GetValueOrDefault));

        Assert.Equal("environment variable CONVERGENCE_CHECKPOINT_KEEP: --checkpoint-keep must be 1 to 10000, got 0", ex.Message);
    }

    [Fact]
    public void TheChainLinkBeyondTheMaximum_IsRefusedWhenParsed_WhicheverWayTheValuesArrive()
    {
        var env = new Dictionary<string, string> { ["CONVERGENCE_CHAIN_MAX"] = "3" };

        // The link arrives before the larger maximum: the order of the values does not matter, only the result.
        var options = RunOptions.Parse(["--chain-link", "5", "--chain-max", "6"], out _, environment: env.GetValueOrDefault);
        Assert.Equal((5, 6), (options.ChainLink, options.ChainMax));

        var ex = Assert.Throws<OptionsException>(() => RunOptions.Parse(["--chain-link", "5"], out _, environment: env.GetValueOrDefault));
        Assert.Equal("chain link 5 is beyond the maximum chain length 3: raise --chain-max or stop the chain", ex.Message);
    }
}
