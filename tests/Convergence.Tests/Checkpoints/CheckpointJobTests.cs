using Convergence.Checkpoints;
using Convergence.Hosting;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

/// <summary>The checkpoint layer inside a real <see cref="JobRunner"/>, single process (the MPI tests are in MpiCheckpointTests).</summary>
public sealed class CheckpointJobTests
{
    [Fact]
    public void PeriodicCheckpoints_LandOnTheirIterationsAndOnlyTheNewestAreKept()
    {
        var options = InProcessJob.Options("ckpt-periodic", "--checkpoint-every", "10", "--checkpoint-keep", "2", "--max-iterations", "45", "--sync", "adaptive");

        var (result, log) = InProcessJob.Run(new RelaxationSolver(), options);

        Assert.Equal(RunOutcome.IterationLimit, result.Outcome);
        var store = new CheckpointStore(options.CheckpointFolder);
        Assert.Equal([4L, 3L], store.ListIds());
        Assert.Equal([40L, 30L], store.ListIds().Select(id => store.ReadManifest(id).TotalIterations));
        Assert.Contains("removed ckpt-00000001", log, StringComparison.Ordinal);

        // The pruned checkpoints' parts were reused by the later ones; the job's end drops the last spare.
        Assert.False(Directory.Exists(store.SpareFolder));
        var fields = ResultFile.Parse(File.ReadAllText(options.ResultFile));
        Assert.Equal(store.FolderOf(4), fields["checkpoint"]);
        Assert.Contains("--resume", fields["resume"], StringComparison.Ordinal);
    }

    [Fact]
    public void PeriodicCheckpointsByWallTime_FollowRankZerosClock()
    {
        // 150 iterations of at least 2 ms each last at least 300 ms: a 50 ms period must fire several times.
        var options = InProcessJob.Options("ckpt-timed", "--checkpoint-every", "50ms", "--checkpoint-keep", "100", "--max-iterations", "150", "--sync", "adaptive:5");

        var (result, log) = InProcessJob.Run(new RelaxationSolver(sleepMs: 2), options);

        Assert.Equal(RunOutcome.IterationLimit, result.Outcome);
        var store = new CheckpointStore(options.CheckpointFolder);
        var manifests = store.ListIds().Select(store.ReadManifest).OrderBy(m => m.Id).ToList();
        Assert.True(manifests.Count >= 3, log);
        Assert.All(manifests, m => Assert.Equal("periodic", m.Reason));
        Assert.Equal(manifests.Select(m => m.TotalIterations).Order(), manifests.Select(m => m.TotalIterations));
    }

    [Fact]
    public void Resume_EndsAtTheSameIterationWithABitIdenticalResidual()
    {
        var reference = InProcessJob.Run(new RelaxationSolver(), InProcessJob.Options("ckpt-ref", "--tolerance", "1e-9")).Result;
        var first = InProcessJob.Options("ckpt-first", "--tolerance", "1e-9", "--checkpoint-every", "25", "--max-iterations", "110");
        var interrupted = InProcessJob.Run(new RelaxationSolver(), first).Result;
        var solver = new RelaxationSolver();
        var (resumed, log) = InProcessJob.Run(solver, first with { Resume = true, MaxIterations = 1_000_000 });

        Assert.Equal(RunOutcome.Converged, reference.Outcome);
        Assert.Equal(RunOutcome.IterationLimit, interrupted.Outcome);
        Assert.Contains("resumed from ckpt-00000004 at iteration 100", log, StringComparison.Ordinal);
        Assert.Equal(1, solver.Reads);
        Assert.Equal(RunOutcome.Converged, resumed.Outcome);
        Assert.Equal(reference.TotalIterations, resumed.TotalIterations);
        Assert.Equal(BitConverter.DoubleToInt64Bits(reference.Residual), BitConverter.DoubleToInt64Bits(resumed.Residual));
    }

    [Fact]
    public void Resume_AToleranceGivenOnTheCommandLine_WinsOverTheCheckpointsWithOneLineSayingWhereEachValueCameFrom()
    {
        var first = InProcessJob.Options("ckpt-given-tol", "--tolerance", "1e-9", "--checkpoint-every", "25", "--max-iterations", "60");
        InProcessJob.Run(new RelaxationSolver(), first);
        var again = InProcessJob.Options("ckpt-given-tol-2", "--checkpoint-dir", first.CheckpointFolder, "--resume", "--tolerance", "1e-12", "--max-iterations", "80");

        var (resumed, log) = InProcessJob.Run(new RelaxationSolver(), again);

        Assert.Equal(1e-12, resumed.Tolerance);
        var line = Assert.Single(log.Split('\n'), l => l.Contains("resumed from ckpt-00000002", StringComparison.Ordinal));
        Assert.Contains("tolerance 1E-12 from option --tolerance (the checkpoint's 1E-09 is not used)", line, StringComparison.Ordinal);
        Assert.Contains("iteration, total, residual and restarts from the checkpoint", line, StringComparison.Ordinal);
        Assert.DoesNotContain("replaces", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_AToleranceFromTheEnvironment_WinsOverTheCheckpoints()
    {
        var first = InProcessJob.Options("ckpt-env-tol", "--tolerance", "1e-9", "--checkpoint-every", "25", "--max-iterations", "60");
        InProcessJob.Run(new RelaxationSolver(), first);
        var again = RunOptions.Parse(
            ["--service", Repo.NewTempFolder("ckpt-env-tol-2"), "--change-notifications", "off", "--checkpoint-dir", first.CheckpointFolder, "--resume", "--max-iterations", "80"],
            out _,
            environment: name => name == "CONVERGENCE_TOLERANCE" ? "1e-11" : null);

        var (resumed, log) = InProcessJob.Run(new RelaxationSolver(), again);

        Assert.Equal(1e-11, resumed.Tolerance);
        Assert.Contains("tolerance 1E-11 from environment variable CONVERGENCE_TOLERANCE (the checkpoint's 1E-09 is not used)", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_InAChainsLaterLink_KeepsTheCheckpointsToleranceThoughTheChainsCommandLineGivesOne()
    {
        // A chain repeats its command line for every link; a CHANGE_TOLERANCE sent during the chain lives in
        // the checkpoint and must not be undone by the next link's --tolerance.
        var first = InProcessJob.Options("ckpt-chain-tol", "--tolerance", "1e-9", "--checkpoint-every", "25", "--max-iterations", "60");
        InProcessJob.Run(new RelaxationSolver(), first);
        var link = InProcessJob.Options("ckpt-chain-tol-2", "--checkpoint-dir", first.CheckpointFolder, "--resume", "--tolerance", "1e-12", "--max-iterations", "80", "--chain-link", "2", "--chain-max", "3");

        var (resumed, log) = InProcessJob.Run(new RelaxationSolver(), link);

        Assert.Equal(1e-9, resumed.Tolerance);
        Assert.Contains("tolerance 1E-09 from the checkpoint (a chain's later link continues the run", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_WithoutAGivenTolerance_TakesTheCheckpointsAndSaysSo()
    {
        var first = InProcessJob.Options("ckpt-ckpt-tol", "--tolerance", "1e-9", "--checkpoint-every", "25", "--max-iterations", "60");
        InProcessJob.Run(new RelaxationSolver(), first);
        var again = InProcessJob.Options("ckpt-ckpt-tol-2", "--checkpoint-dir", first.CheckpointFolder, "--resume", "--max-iterations", "80");

        var (resumed, log) = InProcessJob.Run(new RelaxationSolver(), again);

        Assert.Equal(1e-9, resumed.Tolerance);
        var line = Assert.Single(log.Split('\n'), l => l.Contains("resumed from ckpt-00000002", StringComparison.Ordinal));
        Assert.Contains("iteration, total, residual, restarts and tolerance 1E-09 from the checkpoint", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_SkipsADamagedNewestCheckpointWithALogLineAndUsesTheOlderOne()
    {
        var reference = InProcessJob.Run(new RelaxationSolver(), InProcessJob.Options("ckpt-ref2", "--tolerance", "1e-9")).Result;
        var options = InProcessJob.Options("ckpt-damaged", "--tolerance", "1e-9", "--checkpoint-every", "30", "--max-iterations", "100");
        InProcessJob.Run(new RelaxationSolver(), options);
        var store = new CheckpointStore(options.CheckpointFolder);
        var part = Path.Combine(store.FolderOf(3), CheckpointStore.PartName(0));
        var bytes = File.ReadAllBytes(part);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(part, bytes);

        var (resumed, log) = InProcessJob.Run(new RelaxationSolver(), options with { Resume = true, MaxIterations = 1_000_000 });

        Assert.Contains("checkpoint ckpt-00000003: this rank's part is not usable: rank-00000.part does not match its SHA-256", log, StringComparison.Ordinal);
        Assert.Contains("checkpoint ckpt-00000003 skipped", log, StringComparison.Ordinal);
        Assert.Contains("resumed from ckpt-00000002 at iteration 60", log, StringComparison.Ordinal);
        Assert.Equal(reference.TotalIterations, resumed.TotalIterations);
        Assert.Equal(BitConverter.DoubleToInt64Bits(reference.Residual), BitConverter.DoubleToInt64Bits(resumed.Residual));
    }

    [Fact]
    public void Resume_WithAnEmptyFolder_StartsFromTheInitialState()
    {
        var (result, log) = InProcessJob.Run(new RelaxationSolver(), InProcessJob.Options("ckpt-empty", "--resume", "--max-iterations", "5"));

        Assert.Contains("resume: no checkpoint in", log, StringComparison.Ordinal);
        Assert.Equal(5, result.TotalIterations);
    }

    [Fact]
    public void Resume_FromACheckpointOfAnotherRankCount_IsRefusedWithOneClearLine()
    {
        var options = InProcessJob.Options("ckpt-ranks", "--resume");
        var store = new CheckpointStore(options.CheckpointFolder);
        var parts = new[] { 0, 1 }.Select(r => store.WritePart(1, r, s => s.Write(new byte[64 * 8]))).ToArray();
        store.WriteManifest(CheckpointStoreTests.Manifest(1, parts));

        var ex = Assert.Throws<OptionsException>(() => InProcessJob.Run(new RelaxationSolver(), options));

        Assert.Equal($"--resume: no checkpoint in {store.Root} fits this job (1 written for another); the newest: ckpt-00000001 was written by 2 rank(s), this job has 1: start it with 2 ranks, or use another --checkpoint-dir", ex.Message);
    }

    [Fact]
    public void CheckpointThenRestartCheckpointThenStop_RollsBackAndStopsWithACheckpoint()
    {
        var options = InProcessJob.Options("ckpt-commands", "--replay-notifications", "on", "--poll-ms", "5", "--tolerance", "1e-30");
        File.WriteAllText(options.NotificationsFile, "CHECKPOINT\nRESTART checkpoint\nSTOP\n");
        var solver = new RelaxationSolver(sleepMs: 2);

        var (result, log) = InProcessJob.Run(solver, options);

        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        Assert.Equal(1, result.Restarts);
        Assert.Equal(1, solver.Reads);
        Assert.Contains("rolled back to ckpt-00000001", log, StringComparison.Ordinal);
        var store = new CheckpointStore(options.CheckpointFolder);
        var last = store.ReadManifest(store.ListIds()[0]);
        Assert.Equal("stop", last.Reason);
        Assert.Equal(result.TotalIterations, last.TotalIterations);
        Assert.Contains("checkpoint ckpt-00000002 complete (stop)", result.Message, StringComparison.Ordinal);
    }
}
