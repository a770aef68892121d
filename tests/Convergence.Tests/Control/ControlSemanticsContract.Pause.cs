using System.Globalization;
using System.Text.Json;
using Convergence.Solver;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>PAUSE and RESUME, for every coordinator and rank count the contract runs at.</summary>
public abstract partial class ControlSemanticsContract
{
    [Fact]
    public void PauseThenResume_EndsBitIdenticalToAnUninterruptedRun()
    {
        // The same fixed amount of work twice: once straight through, once held for a while in the middle.
        string[] Args(string output) => ["--n", Grid, "--method", "jacobi", "--max-iterations", "300", "--slow-ms", "10", "--progress-ms", "100", "--output", output];
        var straightService = Repo.NewTempFolder("straight");
        var straightOutput = Path.Combine(straightService, "field");
        using (var straight = StartJob(straightService, Args(straightOutput)))
        {
            Assert.Equal(ExitCodes.IterationLimit, straight.WaitForExit(Patience + Patience));
        }

        var service = Repo.NewTempFolder("pause");
        var output = Path.Combine(service, "field");
        var notifications = Path.Combine(service, "notifications.txt");
        using var job = StartJob(service, Args(output));
        WaitForIteration(job, 20);
        Notify.Append(notifications, "PAUSE #p");
        var paused = StatusJsonWait.Until(service, job, s => s.GetProperty("state").GetString() == "Paused", "the page says paused", Patience);
        var at = paused.GetProperty("paused").GetProperty("iteration").GetInt64();
        Assert.Equal(JsonValueKind.Null, paused.GetProperty("paused").GetProperty("resumesAt").ValueKind);
        Assert.Equal(at, paused.GetProperty("iteration").GetInt64());

        // Held: later pages (the reporter rewrites status.json while paused) still show the same iteration.
        var written = paused.GetProperty("updatedAt").GetDateTimeOffset();
        var later = StatusJsonWait.Until(service, job, s => s.GetProperty("updatedAt").GetDateTimeOffset() > written.AddSeconds(1), "a later page while paused", Patience);
        Assert.Equal("Paused", later.GetProperty("state").GetString());
        Assert.Equal(at, later.GetProperty("iteration").GetInt64());
        Assert.Contains("paused at iteration", File.ReadAllText(Path.Combine(service, "status.html")), StringComparison.Ordinal);

        Notify.Append(notifications, "RESUME #r");
        Assert.Equal(ExitCodes.IterationLimit, job.WaitForExit(Patience + Patience));
        var result = Notify.ReadResult(service);
        var expected = Notify.ReadResult(straightService);
        Assert.Equal("ITERATION_LIMIT", result["outcome"]);
        Assert.Equal((expected["iteration"], expected["residual"]), (result["iteration"], result["residual"]));
        Assert.True(double.Parse(result["paused_seconds"], CultureInfo.InvariantCulture) >= 1, result["paused_seconds"]);
        Assert.Equal("0", expected["paused_seconds"]);
        for (var rank = 0; rank < Ranks; rank++)
        {
            var name = $"poisson_{rank}.vti";
            Assert.True(File.ReadAllBytes(Path.Combine(straightOutput, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(output, name))), $"{name} differs after a pause");
        }

        var (pausedAt, _) = AppliedOnEveryRank(job, 1);
        Assert.Equal(at.ToString(CultureInfo.InvariantCulture), pausedAt);
        Assert.Equal(pausedAt, AppliedOnEveryRank(job, 2).Iteration);
        Assert.Matches(@"command applied seq=2 id=r iteration=\d+ total=\d+ text=""RESUME #r"" note=""resumed at iteration \d+ after [\d.]+ s paused""", job.Stdout);
    }

    [Fact]
    public void PauseWithDuration_ResumesByItself()
    {
        var service = Repo.NewTempFolder("pause-timed");
        using var job = StartJob(service, "--n", Grid, "--method", "jacobi", "--max-iterations", "300", "--slow-ms", "10", "--progress-ms", "100");
        WaitForIteration(job, 20);
        Notify.Append(Path.Combine(service, "notifications.txt"), "PAUSE 3s #p");
        var paused = StatusJsonWait.Until(service, job, s => s.GetProperty("state").GetString() == "Paused", "the page says paused", Patience);
        Assert.Equal(JsonValueKind.String, paused.GetProperty("paused").GetProperty("resumesAt").ValueKind);
        Assert.Contains("(resumes at ", File.ReadAllText(Path.Combine(service, "status.html")), StringComparison.Ordinal);

        // Nobody sends RESUME: the job goes on and ends at its limit.
        Assert.Equal(ExitCodes.IterationLimit, job.WaitForExit(Patience + Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("ITERATION_LIMIT", result["outcome"]);
        Assert.InRange(double.Parse(result["paused_seconds"], CultureInfo.InvariantCulture), 2.9, 60);
        Assert.Matches(@"text=""PAUSE 3s #p"" note=""paused at iteration \d+, resumes by itself at \S+Z or on RESUME""", job.Stdout);
    }

    [Fact]
    public void CommandsWhilePaused_AreAppliedAtThePausedIteration()
    {
        var service = Repo.NewTempFolder("pause-commands");
        var file = Path.Combine(service, "notifications.txt");
        using var job = StartJob(service, "--n", Grid, "--method", "jacobi", "--slow-ms", "10", "--progress-ms", "100");
        WaitForIteration(job, 20);
        Notify.Append(file, "PAUSE #p");
        var at = StatusJsonWait.Until(service, job, s => s.GetProperty("state").GetString() == "Paused", "the page says paused", Patience)
            .GetProperty("paused").GetProperty("iteration").GetInt64().ToString(CultureInfo.InvariantCulture);
        Notify.Append(file, "RELAXATION 0.8 #w");
        Notify.Append(file, "CHECKPOINT #c");
        Notify.Append(file, "STOP #s");

        Assert.Equal(0, job.WaitForExit(Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal(at, result["iteration"]);
        for (var seq = 1; seq <= 4; seq++)
        {
            Assert.Equal(at, AppliedOnEveryRank(job, seq).Iteration);
        }

        Assert.Contains("checkpoint ckpt-", result["message"], StringComparison.Ordinal);
        Assert.All(EndLines(job.Stdout), e => Assert.Equal(("STOPPED", at, at), e));
    }
}
