using System.Globalization;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Slurm;

/// <summary>
/// The example under the real local Slurm (jobscripts/local-slurm.sh): srun and mpirun inside an allocation,
/// scancel's signals, a one-minute time limit, and a chain of jobs that outlives its wall time.
/// </summary>
[Collection(MpiCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SlurmJobTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(5);

    private static string Poisson => Repo.Output("examples/Poisson", "Poisson");

    [Fact]
    public void SrunStartsTheExampleOnTwoRanksAndTheDeadlineComesFromSlurm()
    {
        LocalSlurm.EnsureRunning();
        var folder = Repo.NewTempFolder("slurm-srun");
        var service = Path.Combine(folder, "service");
        using var p = RunningProcess.Start("srun", ["--mpi=pmi2", "-n", "2", "--time=5", "dotnet", Poisson, "--n", "64", "--service", service], workingDirectory: folder);
        var code = p.WaitForExit(JobTimeout);

        Assert.True(code == 0, p.Output);
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("2", result["ranks"]);

        // Slurm 22.05 sets no SLURM_JOB_END_TIME: the end time was asked of squeue, once, on rank 0.
        Assert.Contains("asked squeue, SLURM_JOB_END_TIME is not set", p.Stdout, StringComparison.Ordinal);
        Assert.Single(p.Stdout.Split('\n'), l => l.Contains("deadline: Slurm job", StringComparison.Ordinal));
    }

    [Fact]
    public void MpirunInsideAnSbatchAllocationStartsTheExampleOnTwoRanks()
    {
        var folder = Repo.NewTempFolder("slurm-mpirun");
        var log = Path.Combine(folder, "job.log");
        var job = LocalSlurm.Submit(
            ["-n", "2", "--time=5", "-o", log, LocalSlurm.BareMetalScript, "--n", "64"],
            new Dictionary<string, string?> { ["CONVERGENCE_LAUNCH"] = "mpirun", ["CONVERGENCE_RUN_DIR"] = folder },
            folder);
        LocalSlurm.WaitForEnd(job, JobTimeout, () => LocalSlurm.Describe(log));

        var result = Notify.ReadResult(Path.Combine(folder, "service"));
        var text = LocalSlurm.Describe(log);
        Assert.True(result.GetValueOrDefault("outcome") == "CONVERGED", text);
        Assert.Equal("2", result["ranks"]);
        Assert.Contains("via 'mpirun.mpich -np 2'", text, StringComparison.Ordinal);
        Assert.Equal("0:0", LocalSlurm.JobField(job, "ExitCode"));
    }

    [Fact]
    public void ScancelWithUsr1CheckpointsAndPlainScancelStopsCleanlyWithACheckpoint()
    {
        var folder = Repo.NewTempFolder("slurm-signals");
        var log = Path.Combine(folder, "job.log");
        var service = Path.Combine(folder, "service");
        var job = LocalSlurm.Submit(
            ["-n", "2", "--time=10", "-o", log, LocalSlurm.BareMetalScript, "--n", "64", "--method", "jacobi", "--tolerance", "1e-300", "--slow-ms", "5"],
            new Dictionary<string, string?> { ["CONVERGENCE_RUN_DIR"] = folder },
            folder);
        try
        {
            ServiceFiles.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("progress iteration=", StringComparison.Ordinal), JobTimeout, () => LocalSlurm.Describe(log));

            LocalSlurm.Run("scancel", ["--signal=USR1", job]);
            ServiceFiles.WaitUntil(() => File.ReadAllText(log).Contains("complete (signal)", StringComparison.Ordinal), JobTimeout, () => LocalSlurm.Describe(log));
            Assert.Equal("RUNNING", LocalSlurm.JobField(job, "JobState"));

            LocalSlurm.Run("scancel", [job]);
            LocalSlurm.WaitForEnd(job, JobTimeout, () => LocalSlurm.Describe(log));
            ServiceFiles.WaitUntil(() => File.ReadAllText(log).Contains("link 1 finished", StringComparison.Ordinal), TimeSpan.FromSeconds(60), () => LocalSlurm.Describe(log));
        }
        finally
        {
            LocalSlurm.CancelQuietly(job);
        }

        var text = File.ReadAllText(log);
        var result = Notify.ReadResult(service);
        Assert.True(result.GetValueOrDefault("outcome") == "STOPPED", text);
        Assert.Equal("0", result["exit_code"]);
        Assert.StartsWith("stop signal on ", result["message"], StringComparison.Ordinal);
        Assert.Contains("complete (signal stop)", result["message"], StringComparison.Ordinal);
        // Slurm signals every task: a USR1 that reaches the ranks on both sides of a sync is two requests (two checkpoints).
        Assert.Matches(@"ckpt-0000000[2-9]$", result["checkpoint"]);
        Assert.Contains("link 1 finished: outcome=STOPPED, exit code 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void AOneMinuteTimeLimitStopsTheRunByTheDeadlineWithACheckpointBeforeSlurmsSigterm()
    {
        var folder = Repo.NewTempFolder("slurm-time1");
        var log = Path.Combine(folder, "job.log");
        var service = Path.Combine(folder, "service");
        var job = LocalSlurm.Submit(
            ["-n", "2", "--time=1", "-o", log, LocalSlurm.BareMetalScript, "--n", "64", "--method", "jacobi", "--tolerance", "1e-300", "--slow-ms", "5"],
            new Dictionary<string, string?> { ["CONVERGENCE_RUN_DIR"] = folder },
            folder);
        DateTimeOffset end;
        try
        {
            LocalSlurm.WaitForState(job, "RUNNING", JobTimeout, () => LocalSlurm.Describe(log));
            end = LocalSlurm.EndTime(job);
            LocalSlurm.WaitForEnd(job, JobTimeout, () => LocalSlurm.Describe(log));
            ServiceFiles.WaitUntil(() => File.ReadAllText(log).Contains("link 1 finished", StringComparison.Ordinal), TimeSpan.FromSeconds(60), () => LocalSlurm.Describe(log));
        }
        finally
        {
            LocalSlurm.CancelQuietly(job);
        }

        var text = File.ReadAllText(log);
        var result = Notify.ReadResult(service);
        Assert.True(result.GetValueOrDefault("outcome") == "STOPPED", text);
        Assert.Equal("0", result["exit_code"]);
        Assert.StartsWith("wall-time deadline ", result["message"], StringComparison.Ordinal);
        Assert.Contains("complete (deadline)", result["message"], StringComparison.Ordinal);
        Assert.DoesNotContain("signal SIGTERM", text, StringComparison.Ordinal);
        Assert.Equal("COMPLETED", LocalSlurm.JobField(job, "JobState"));

        var finished = DateTimeOffset.Parse(result["finished_at"], CultureInfo.InvariantCulture);
        var margin = end - finished;
        output.WriteLine(FormattableString.Invariant($"result written {margin.TotalSeconds:0.0} s before Slurm's end time (SIGTERM) {end:HH:mm:ss}; default --deadline-margin 10s"));
        Assert.True(margin > TimeSpan.Zero, $"the result was written {-margin.TotalSeconds:0.0} s after Slurm's end time\n{text}");
    }

    [Fact]
    public void SlurmsAdvanceSignalToTheBatchShellStopsTheRunAsTheAllocationsEnd()
    {
        // --signal=B:USR1@45 on a one-minute job: Slurm signals the batch shell 45 s (or, checking its limits
        // every few seconds, a little less) before the end; the script passes it on and the run stops there.
        var folder = Repo.NewTempFolder("slurm-advance");
        var log = Path.Combine(folder, "job.log");
        var service = Path.Combine(folder, "service");
        var job = LocalSlurm.Submit(
            ["-n", "2", "--time=1", "--signal=B:USR1@45", "-o", log, LocalSlurm.BareMetalScript, "--n", "64", "--method", "jacobi", "--tolerance", "1e-300", "--slow-ms", "5"],
            new Dictionary<string, string?> { ["CONVERGENCE_RUN_DIR"] = folder, ["CONVERGENCE_ADVANCE_SIGNAL"] = "USR1" },
            folder);
        try
        {
            LocalSlurm.WaitForEnd(job, JobTimeout, () => LocalSlurm.Describe(log));
            ServiceFiles.WaitUntil(() => File.ReadAllText(log).Contains("link 1 finished", StringComparison.Ordinal), TimeSpan.FromSeconds(60), () => LocalSlurm.Describe(log));
        }
        finally
        {
            LocalSlurm.CancelQuietly(job);
        }

        var text = File.ReadAllText(log);
        var result = Notify.ReadResult(service);
        Assert.True(result.GetValueOrDefault("outcome") == "STOPPED", text);
        Assert.StartsWith("advance signal (the allocation ends soon)", result["message"], StringComparison.Ordinal);
        Assert.Contains("complete (advance signal)", result["message"], StringComparison.Ordinal);
        Assert.Contains("received SIGUSR1, passing it on", text, StringComparison.Ordinal);
        Assert.Contains("signals=TERM=stop,INT=stop,USR1=deadline", text, StringComparison.Ordinal);
        Assert.Equal("0", result["exit_code"]);
    }

    [Fact]
    public void ATimeExtensionIsNoticedByTheRunningJob()
    {
        var folder = Repo.NewTempFolder("slurm-extend");
        var log = Path.Combine(folder, "job.log");
        var job = LocalSlurm.Submit(
            ["-n", "2", "--time=1", "-o", log, LocalSlurm.BareMetalScript, "--n", "64", "--method", "jacobi", "--tolerance", "1e-300", "--slow-ms", "5", "--slurm-end-time", "5s"],
            new Dictionary<string, string?> { ["CONVERGENCE_RUN_DIR"] = folder },
            folder);
        try
        {
            ServiceFiles.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("deadline: Slurm job", StringComparison.Ordinal), JobTimeout, () => LocalSlurm.Describe(log));
            var before = LocalSlurm.EndTime(job);
            LocalSlurm.Run("scontrol", ["update", $"JobId={job}", "TimeLimit=3"]);
            var after = LocalSlurm.EndTime(job);
            Assert.Equal(TimeSpan.FromMinutes(2), after - before);

            var moved = FormattableString.Invariant($"to {after.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} (time limit changed)");
            ServiceFiles.WaitUntil(() => File.ReadAllText(log).Contains(moved, StringComparison.Ordinal), TimeSpan.FromSeconds(45), () => LocalSlurm.Describe(log));

            // Past the old end (less its 10 s margin) the job still runs: it decides with the new end.
            ServiceFiles.WaitUntil(() => DateTimeOffset.UtcNow > before, TimeSpan.FromSeconds(90), () => "clock");
            Assert.Equal("RUNNING", LocalSlurm.JobField(job, "JobState"));
            Assert.DoesNotContain("wall-time deadline", File.ReadAllText(log), StringComparison.Ordinal);
        }
        finally
        {
            LocalSlurm.CancelQuietly(job);
        }
    }

    [Fact]
    public void AChainedRunConvergesBitForBitAsAnUninterruptedOneAndAppliesAMessageSentWhileItsNextLinkWaits()
    {
        // Jacobi on 16x16 needs 1208 iterations to reach 1e-9 and 1342 to reach 1e-10; at 30 ms per
        // iteration a one-minute link that keeps 40 s in reserve does at most ~600, so the chain needs at
        // least three links, and only the tolerance sent between links lets it run past 1e-9.
        string[] problem = ["--n", "16", "--method", "jacobi"];
        var reference = Reference(problem.Concat(["--tolerance", "1e-10"]));

        var folder = Repo.NewTempFolder("slurm-chain");
        var log = Path.Combine(folder, "chain.log");
        var service = Path.Combine(folder, "service");
        var name = $"chain-{Guid.NewGuid():N}"[..14];
        var first = LocalSlurm.Submit(
            new[] { "-n", "2", "--time=1", $"--job-name={name}", "-o", log, LocalSlurm.BareMetalScript }.Concat(problem).Concat(["--tolerance", "1e-9", "--slow-ms", "30"]),
            new Dictionary<string, string?>
            {
                ["CONVERGENCE_RUN_DIR"] = folder,
                ["CONVERGENCE_CHAIN"] = "12",
                ["CONVERGENCE_DEADLINE_MARGIN"] = "40s",
            },
            folder);
        try
        {
            // The next link is queued at once; held in the queue, it lets the test send while it waits.
            ServiceFiles.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("next link queued as job ", StringComparison.Ordinal), JobTimeout, () => LocalSlurm.Describe(log));
            var second = Between(File.ReadAllText(log), "next link queued as job ", " ");
            LocalSlurm.Run("scontrol", ["hold", second]);

            ServiceFiles.WaitUntil(() => Notify.ReadResult(service).GetValueOrDefault("chain") == "continue", JobTimeout, () => LocalSlurm.Describe(log));
            var waiting = File.ReadAllText(Path.Combine(service, "status.html"));
            Assert.Contains("data-state=\"waiting for allocation\"", waiting, StringComparison.Ordinal);
            Assert.Contains($"waiting for the next allocation: Slurm job {second} (link 2)", waiting, StringComparison.Ordinal);
            Assert.Contains("data-finished=\"false\"", waiting, StringComparison.Ordinal);
            Assert.DoesNotContain("data-control disabled", waiting, StringComparison.Ordinal);
            Assert.Equal(second, Notify.ReadResult(service)["chain_next_job"]);
            Assert.Equal("1", Notify.ReadResult(service)["chain_link"]);

            Notify.Append(Path.Combine(service, "notifications.txt"), "CHANGE_TOLERANCE 1e-10 #queued");
            LocalSlurm.WaitForEnd(first, JobTimeout, () => LocalSlurm.Describe(log));
            Assert.Equal("PENDING", LocalSlurm.JobField(second, "JobState"));
            LocalSlurm.Run("scontrol", ["release", second]);

            // Link 2 applies it and says so on its page.
            ServiceFiles.WaitUntil(
                () => File.ReadAllText(Path.Combine(service, "status.html")) is var page && page.Contains("queued", StringComparison.Ordinal) && page.Contains("applied at iteration", StringComparison.Ordinal),
                JobTimeout,
                () => LocalSlurm.Describe(log) + LocalSlurm.Describe(Path.Combine(service, "status.html")));
            Assert.Contains("command applied seq=1 id=queued", File.ReadAllText(log), StringComparison.Ordinal);

            ServiceFiles.WaitUntil(() => Notify.ReadResult(service).GetValueOrDefault("outcome") is "CONVERGED" or "FAILED" || Notify.ReadResult(service).GetValueOrDefault("chain") == "end", TimeSpan.FromMinutes(15), () => LocalSlurm.Describe(log));
            ServiceFiles.WaitUntil(() => File.ReadAllText(log).Contains("cancelling the queued job", StringComparison.Ordinal), TimeSpan.FromSeconds(60), () => LocalSlurm.Describe(log));
        }
        finally
        {
            LocalSlurm.CancelQuietly($"--name={name}");
        }

        var text = File.ReadAllText(log);
        var result = Notify.ReadResult(service);
        output.WriteLine($"chain of {result.GetValueOrDefault("chain_link")} links; reference {reference["iteration"]} iterations");
        Assert.True(result.GetValueOrDefault("outcome") == "CONVERGED", text);
        Assert.True(int.Parse(result["chain_link"], CultureInfo.InvariantCulture) >= 3, text);
        Assert.Equal("end", result["chain"]);
        Assert.Equal(reference["iteration"], result["iteration"]);
        Assert.Equal(reference["total_iterations"], result["total_iterations"]);
        Assert.Equal(reference["residual"], result["residual"]);
        Assert.Equal(reference["max_error"], result["max_error"]);
        Assert.Equal("1E-10", result["tolerance"]);
        Assert.Contains($"link {result["chain_link"]} of at most 12", text, StringComparison.Ordinal);
        for (var link = 2; link <= int.Parse(result["chain_link"], CultureInfo.InvariantCulture); link++)
        {
            Assert.Contains($"link {link} of at most 12 (Slurm job ", text, StringComparison.Ordinal);
        }
    }

    private static IReadOnlyDictionary<string, string> Reference(IEnumerable<string> args)
    {
        var service = Path.Combine(Repo.NewTempFolder("slurm-reference"), "service");
        using var p = RunningProcess.Start("mpirun.mpich", new[] { "-np", "2", "dotnet", Poisson, "--service", service }.Concat(args));
        Assert.True(p.WaitForExit(JobTimeout) == 0, p.Output);
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        return result;
    }

    private static string Between(string text, string before, string after)
    {
        var start = text.IndexOf(before, StringComparison.Ordinal) + before.Length;
        var end = text.IndexOf(after, start, StringComparison.Ordinal);
        return text[start..end];
    }
}
