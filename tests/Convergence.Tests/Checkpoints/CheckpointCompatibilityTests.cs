using Convergence.Checkpoints;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// Checkpoints of another job in the same folder (another grid, another solver): declined before any
/// rank reads them, single process (the MPI runs are in <see cref="MpiCheckpointCompatibilityTests"/>).
/// </summary>
public sealed class CheckpointCompatibilityTests
{
    [Fact]
    public void TheManifest_RecordsTheSolversCompatibilityKey()
    {
        var options = InProcessJob.Options("ckpt-key", "--checkpoint-every", "10", "--max-iterations", "10");

        InProcessJob.Run(new RelaxationSolver(size: 32), options);

        var store = new CheckpointStore(options.CheckpointFolder);
        Assert.Equal("relaxation size=32", store.ReadManifest(1).Key);
        Assert.Contains("key=relaxation size=32\n", File.ReadAllText(Path.Combine(store.FolderOf(1), CheckpointStore.ManifestName)), StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_SkipsNewerForeignCheckpointsAndUsesTheNewestThatFits()
    {
        var options = InProcessJob.Options("ckpt-mixed", "--checkpoint-every", "10", "--checkpoint-keep", "10", "--max-iterations", "35", "--tolerance", "1e-30");
        InProcessJob.Run(new RelaxationSolver(size: 64), options);
        InProcessJob.Run(new RelaxationSolver(size: 32), options with { MaxIterations = 25 });
        var store = new CheckpointStore(options.CheckpointFolder);
        Assert.Equal([5L, 4L, 3L, 2L, 1L], store.ListIds());

        var solver = new RelaxationSolver(size: 64);
        var (result, log) = InProcessJob.Run(solver, options with { Resume = true, MaxIterations = 40 });

        Assert.Contains("checkpoint ckpt-00000005 skipped, it does not fit this job: ckpt-00000005 was written for 'relaxation size=32', this job is 'relaxation size=64'", log, StringComparison.Ordinal);
        Assert.Contains("checkpoint ckpt-00000004 skipped, it does not fit this job", log, StringComparison.Ordinal);
        Assert.Contains("resumed from ckpt-00000003 at iteration 30", log, StringComparison.Ordinal);
        Assert.Equal(1, solver.Reads);
        Assert.Equal(40, result.TotalIterations);
    }

    [Fact]
    public void Resume_WithOnlyForeignCheckpoints_IsRefusedInOneLineNamingBothKeysAndTheWayOut()
    {
        var options = InProcessJob.Options("ckpt-foreign", "--checkpoint-every", "10", "--max-iterations", "25");
        InProcessJob.Run(new RelaxationSolver(size: 32), options);
        var solver = new RelaxationSolver(size: 64);

        var ex = Assert.Throws<OptionsException>(() => InProcessJob.Run(solver, options with { Resume = true }));

        Assert.DoesNotContain('\n', ex.Message);
        Assert.StartsWith($"--resume: no checkpoint in {options.CheckpointFolder} fits this job (2 written for another)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ckpt-00000002 was written for 'relaxation size=32', this job is 'relaxation size=64'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("or use another --checkpoint-dir", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, solver.Reads);

        // Refused before anything was written: the previous run's result stays.
        var result = ResultFile.Parse(File.ReadAllText(options.ResultFile));
        Assert.Equal("ITERATION_LIMIT", result["outcome"]);
        Assert.Equal("25", result["total_iterations"]);
    }

    [Fact]
    public void Resume_FromAManifestWithoutAKey_IsRefused()
    {
        var options = InProcessJob.Options("ckpt-nokey", "--resume");
        var store = new CheckpointStore(options.CheckpointFolder);
        var part = store.WritePart(1, 0, s => s.Write(new byte[64 * 8]));
        store.WriteManifest(CheckpointStoreTests.Manifest(1, part));

        var ex = Assert.Throws<OptionsException>(() => InProcessJob.Run(new RelaxationSolver(), options));

        Assert.Contains("ckpt-00000001 has no compatibility key (written by an older version)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RestartCheckpoint_WithOnlyAForeignCheckpoint_IsDeclinedWithTheReasonAndTheJobGoesOn()
    {
        var options = InProcessJob.Options("ckpt-restart-foreign", "--checkpoint-every", "10", "--max-iterations", "15");
        InProcessJob.Run(new RelaxationSolver(size: 32), options);
        File.WriteAllText(options.NotificationsFile, "RESTART checkpoint\n");
        var solver = new RelaxationSolver(size: 64, sleepMs: 1);

        var (result, log) = InProcessJob.Run(solver, options with { CheckpointEvery = null, ReplayExistingNotifications = true, PollInterval = TimeSpan.FromMilliseconds(5), MaxIterations = 200, Tolerance = 1e-30 });

        Assert.Equal(RunOutcome.IterationLimit, result.Outcome);
        Assert.Equal(200, result.TotalIterations);
        Assert.Equal(0, result.Restarts);
        Assert.Equal(0, solver.Reads);
        var rejected = Assert.Single(log.Split('\n'), l => l.Contains("command rejected", StringComparison.Ordinal));
        Assert.Contains("this job is 'relaxation size=64'", rejected, StringComparison.Ordinal);
        var page = File.ReadAllText(options.StatusFile);
        Assert.Contains("relaxation size=32", page, StringComparison.Ordinal);
    }

    [Fact]
    public void ASolverThatCannotReadAVerifiedPart_FailsTheJobWithTheReason()
    {
        var options = InProcessJob.Options("ckpt-readfail", "--checkpoint-every", "10", "--max-iterations", "15");
        InProcessJob.Run(new RelaxationSolver(), options);

        var ex = Assert.Throws<InvalidDataException>(() => InProcessJob.Run(new RelaxationSolver { FailReads = true }, options with { Resume = true }));

        Assert.Contains("checkpoint ckpt-00000001", ex.Message, StringComparison.Ordinal);
        Assert.Contains("could not read it on rank(s) 0 (InvalidDataException: relaxation: this part is not mine)", ex.Message, StringComparison.Ordinal);
        Assert.Equal("FAILED", ResultFile.Parse(File.ReadAllText(options.ResultFile))["outcome"]);
    }
}
