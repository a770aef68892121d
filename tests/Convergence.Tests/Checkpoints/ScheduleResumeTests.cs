using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// A plain <c>--resume</c> (no chain) takes up the schedule and the record of changes kept beside the
/// checkpoints; a job started without <c>--resume</c> removes them, so it never inherits an earlier run's.
/// </summary>
public sealed class ScheduleResumeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public void AResumedRun_FiresTheScheduledStop_AndKeepsTheRecord_AndAFreshRunStartsClean()
    {
        var service = Repo.NewTempFolder("schedule-resume");
        var checkpoints = Path.Combine(service, "checkpoints");
        string[] common = ["--single-process", "--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-30",
            "--slow-ms", "5", "--progress-ms", "100", "--poll-ms", "50", "--checkpoint-every", "50"];
        using (var first = RunningProcess.Dotnet(PoissonJob.Dll, [.. common, "--max-iterations", "400"]))
        {
            first.WaitForOutput("progress iteration=", Patience);
            Notify.Append(Path.Combine(service, "notifications.txt"), "STOP at=700 #s1\nRELAXATION 0.9 #r1");
            Assert.Equal(4, first.WaitForExit(Patience));
            Assert.Contains("note=\"scheduled #s1: STOP at iteration 700\"", first.Stdout, StringComparison.Ordinal);
        }

        Assert.Equal("STOP at=700 #s1\n", File.ReadAllText(Path.Combine(checkpoints, "schedule.txt")));
        using (var resumed = RunningProcess.Dotnet(PoissonJob.Dll, [.. common, "--max-iterations", "2000", "--resume"]))
        {
            Assert.Equal(0, resumed.WaitForExit(Patience));
        }

        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("700", result["total_iterations"]);
        Assert.Equal("1", result["changes"]);
        Assert.StartsWith("RELAXATION 1 -> 0.9 at iteration ", result["change_1"], StringComparison.Ordinal);

        using (var fresh = RunningProcess.Dotnet(PoissonJob.Dll, [.. common, "--max-iterations", "5"]))
        {
            Assert.Equal(4, fresh.WaitForExit(Patience));
        }

        Assert.Equal("0", Notify.ReadResult(service)["changes"]);
        Assert.False(File.Exists(Path.Combine(checkpoints, "schedule.txt")));
        Assert.False(File.Exists(Path.Combine(checkpoints, "changes.json")));
    }
}
