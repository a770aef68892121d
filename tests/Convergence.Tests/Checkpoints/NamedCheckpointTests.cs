using Convergence.Checkpoints;
using Convergence.Commands;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Tests.Checkpoints;

/// <summary><c>--resume=ckpt-…</c> and <c>RESTART checkpoint ckpt-…</c>: that checkpoint, or a clear refusal (never another one).</summary>
public sealed class NamedCheckpointTests
{
    [Fact]
    public void ResumeNamingAnOlderCheckpoint_LoadsThatOne()
    {
        var folder = FourCheckpoints("named-older");

        var (result, log) = InProcessJob.Run(new RelaxationSolver(), InProcessJob.Options("named-older-2", "--checkpoint-dir", folder, "--resume=ckpt-00000002", "--max-iterations", "30"));

        Assert.Contains("resumed from ckpt-00000002 at iteration 10 (total 10)", log, StringComparison.Ordinal);
        Assert.Equal(30, result.TotalIterations);
    }

    [Fact]
    public void ResumeNamingAMissingCheckpoint_IsRefusedInOneLine()
    {
        var folder = FourCheckpoints("named-missing");

        var ex = Assert.Throws<OptionsException>(() => InProcessJob.Run(new RelaxationSolver(), InProcessJob.Options("named-missing-2", "--checkpoint-dir", folder, "--resume=ckpt-00000009")));

        Assert.Equal($"--resume=ckpt-00000009: ckpt-00000009 is not in {folder} (see 'convergence checkpoints list --checkpoint-dir {folder}')", ex.Message);
    }

    [Fact]
    public void ResumeNamingADamagedCheckpoint_IsRefusedAndNoOlderOneIsLoaded()
    {
        var folder = FourCheckpoints("named-damaged");
        var store = new CheckpointStore(folder);
        var part = Path.Combine(store.FolderOf(3), CheckpointStore.PartName(0));
        var bytes = File.ReadAllBytes(part);
        bytes[^1] ^= 0x10;
        File.WriteAllBytes(part, bytes);

        var ex = Assert.Throws<OptionsException>(() => InProcessJob.Run(new RelaxationSolver(), InProcessJob.Options("named-damaged-2", "--checkpoint-dir", folder, "--resume=ckpt-00000003")));

        Assert.Equal("--resume=ckpt-00000003: ckpt-00000003 is damaged: part(s) of rank(s) 0 missing, truncated or altered", ex.Message);
    }

    [Fact]
    public void ResumeNamingAnIncompleteOrForeignCheckpoint_IsRefusedBeforeTheJobStarts()
    {
        var folder = FourCheckpoints("named-incomplete");
        File.Delete(Path.Combine(new CheckpointStore(folder).FolderOf(4), CheckpointStore.ManifestName));

        var incomplete = Assert.Throws<OptionsException>(() => InProcessJob.Run(new RelaxationSolver(), InProcessJob.Options("named-incomplete-2", "--checkpoint-dir", folder, "--resume=ckpt-00000004")));
        var foreign = Assert.Throws<OptionsException>(() => InProcessJob.Run(new RelaxationSolver(size: 32), InProcessJob.Options("named-incomplete-3", "--checkpoint-dir", folder, "--resume=ckpt-00000002")));

        Assert.Equal("--resume=ckpt-00000004: ckpt-00000004 cannot be loaded: incomplete (no manifest; interrupted while being written)", incomplete.Message);
        Assert.StartsWith("--resume=ckpt-00000002: ckpt-00000002 does not fit this job: ckpt-00000002 was written for 'relaxation size=64', this job is 'relaxation size=32'", foreign.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResumeWithAValueThatIsNeitherOnOffNorACheckpoint_IsAUsageError()
    {
        var ex = Assert.ThrowsAny<Exception>(() => InProcessJob.Options("named-bad", "--resume=ckpt-x"));
        Assert.Contains("is not on, off or a checkpoint name such as ckpt-00000012", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RestartCheckpointNamingOne_RollsBackToThatOneAndANamedMissingOneIsDeclined()
    {
        var options = InProcessJob.Options("named-restart", "--replay-notifications", "on", "--poll-ms", "5", "--tolerance", "1e-30", "--checkpoint-keep", "5");
        File.WriteAllText(options.NotificationsFile, "CHECKPOINT\nCHECKPOINT\nRESTART checkpoint ckpt-00000001\nRESTART checkpoint ckpt-00000042\nSTOP\n");
        var solver = new RelaxationSolver(sleepMs: 2);

        var (result, log) = InProcessJob.Run(solver, options);

        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        Assert.Equal(1, result.Restarts);
        Assert.Contains("rolled back to ckpt-00000001", log, StringComparison.Ordinal);
        Assert.Contains("ckpt-00000042 is not in", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RESTART checkpoint", 0, "checkpoint")]
    [InlineData("restart CHECKPOINT ckpt-00000012 #r1", 12, "checkpoint ckpt-00000012")]
    [InlineData("RESTART checkpoint 7", 7, "checkpoint ckpt-00000007")]
    public void RestartCheckpointTakesAnOptionalCheckpointName(string line, long id, string arguments)
    {
        var command = new CommandParser().Parse(line).Command;

        Assert.NotNull(command);
        Assert.Equal(CommandKind.RestartFromCheckpoint, command.Kind);
        Assert.Equal(id, command.WholeNumber);
        Assert.Equal(arguments, command.Arguments);
    }

    [Theory]
    [InlineData("RESTART checkpoint ckpt-x")]
    [InlineData("RESTART checkpoint 0")]
    [InlineData("RESTART checkpoint 3 4")]
    [InlineData("RESTART later")]
    public void RestartWithAnyOtherArgumentIsRejectedInOneLine(string line)
    {
        var result = new CommandParser().Parse(line);

        Assert.Null(result.Command);
        Assert.StartsWith("RESTART takes no argument, 'checkpoint' or 'checkpoint ckpt-00000012', got '", result.Rejection, StringComparison.Ordinal);
    }

    /// <summary>A folder with checkpoints 1 to 4 of the relaxation solver, at iterations 5, 10, 15 and 20.</summary>
    private static string FourCheckpoints(string label)
    {
        var options = InProcessJob.Options(label, "--checkpoint-every", "5", "--max-iterations", "20", "--checkpoint-keep", "5", "--tolerance", "1e-30");
        InProcessJob.Run(new RelaxationSolver(), options);
        var store = new CheckpointStore(options.CheckpointFolder);
        Assert.Equal([4L, 3L, 2L, 1L], store.ListIds());
        return options.CheckpointFolder;
    }
}
