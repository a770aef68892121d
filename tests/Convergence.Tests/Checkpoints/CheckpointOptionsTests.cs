using Convergence.Checkpoints;
using Convergence.Options;
using Convergence.Signals;

namespace Convergence.Tests.Checkpoints;

public sealed class CheckpointOptionsTests
{
    private static RunOptions Parse(string[] args, Dictionary<string, string>? env = null) =>
        RunOptions.Parse(args, out _, environment: name => env is not null && env.TryGetValue(name, out var v) ? v : null);

    [Fact]
    public void ResumeIsAFlagThatNeverSwallowsTheNextArgument()
    {
        var options = RunOptions.Parse(["--resume", "--n", "64"], out var rest, environment: _ => null);

        Assert.True(options.Resume);
        Assert.Equal(["--n", "64"], rest);
        Assert.False(Parse(["--resume=off"]).Resume);
    }

    [Fact]
    public void CheckpointEvery_AcceptsIterationsOrATime()
    {
        Assert.Equal(CheckpointPeriod.EveryIterations(500), Parse(["--checkpoint-every", "500"]).CheckpointEvery);
        Assert.Equal(CheckpointPeriod.EveryInterval(TimeSpan.FromMinutes(15)), Parse(["--checkpoint-every", "15m"]).CheckpointEvery);
        Assert.Null(Parse(["--checkpoint-every", "off"]).CheckpointEvery);
        var ex = Assert.Throws<OptionsException>(() => Parse(["--checkpoint-every", "soon"]));
        Assert.StartsWith("option --checkpoint-every: 'soon' is neither", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointFolder_DefaultsUnderTheServiceFolder()
    {
        Assert.Equal(Path.Combine("/tmp/svc", "checkpoints"), Parse(["--service", "/tmp/svc"]).CheckpointFolder);
        Assert.Equal("/scratch/me/run1", Parse(["--checkpoint-dir", "/scratch/me/run1"]).CheckpointFolder);
        Assert.Throws<OptionsException>(() => Parse(["--checkpoint-keep", "0"]));
    }

    [Fact]
    public void Deadline_ComesFromSlurmUnlessAnOptionOrVariableNamesOne()
    {
        var slurm = new Dictionary<string, string> { ["SLURM_JOB_END_TIME"] = "1764061200" };

        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764061200), Parse([], slurm).Deadline);
        Assert.Equal(
            new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero),
            Parse([], new Dictionary<string, string>(slurm) { ["CONVERGENCE_DEADLINE"] = "2026-11-25T09:00:00Z" }).Deadline);
        Assert.Equal(
            new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero),
            Parse(["--deadline", "2026-11-25T11:00:00+01:00"], slurm).Deadline);
        Assert.Null(Parse([]).Deadline);
    }

    [Fact]
    public void Deadline_AcceptsRelativeTimesAndRefusesNonsense()
    {
        var now = new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);

        Assert.Equal(now.AddSeconds(90), WallTimeBudget.ParseDeadline("+90s", now));
        Assert.Equal(now.AddHours(2), WallTimeBudget.ParseDeadline("+2h", now));
        var ex = Assert.Throws<OptionsException>(() => Parse(["--deadline", "tomorrow"]));
        Assert.Contains("is not ISO 8601", ex.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(2.5), Parse(["--deadline-margin", "2.5"]).DeadlineMargin);
        Assert.Equal(TimeSpan.FromMilliseconds(500), Parse(["--deadline-margin", "500ms"]).DeadlineMargin);
    }

    [Fact]
    public void Signals_MapIsParsedAndBadNamesAreRefused()
    {
        Assert.Equal("TERM=stop,INT=stop,USR1=checkpoint", SignalMap.Default.ToString());
        Assert.Equal("TERM=checkpoint,USR2=stop", Parse(["--signals", "SIGTERM=checkpoint, usr2=stop"]).Signals.ToString());
        Assert.Empty(Parse(["--signals", "none"]).Signals.Entries);
        Assert.Contains("is not one of TERM", Assert.Throws<OptionsException>(() => Parse(["--signals", "KILL=stop"])).Message, StringComparison.Ordinal);
        Assert.Contains("needs an action", Assert.Throws<OptionsException>(() => Parse(["--signals", "TERM"])).Message, StringComparison.Ordinal);
    }
}
