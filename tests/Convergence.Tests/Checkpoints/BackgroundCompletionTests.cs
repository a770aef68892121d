using System.Collections.Concurrent;
using Convergence.Checkpoints;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// A checkpoint after which the job goes on completes its manifest on rank 0's background thread; whatever
/// reads "the last checkpoint" waits for it, a failed one leaves the previous checkpoint the newest, and one
/// after which the job ends is complete when <see cref="CheckpointManager.Write"/> returns. Single process,
/// with the store's test hook holding the manifest back (the SIGKILL case runs under mpirun in
/// <see cref="MpiCheckpointCompatibilityTests"/>).
/// </summary>
public sealed class BackgroundCompletionTests
{
    private readonly ConcurrentQueue<string> _log = new();

    private string Log => string.Join("\n", _log);

    [Fact]
    public void APeriodicCheckpoint_IsCountedOnlyOnceItsManifestIsDurable_AndARestoreWaitsForIt()
    {
        using var gate = new ManualResetEventSlim();
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-bg-restore")) { BeforeManifest = id => Hold(id, 2, gate) };
        var manager = NewManager(store, keep: 3);
        var state = new ControlLoopState { Tolerance = 1e-6, Residual = 1 };
        At(state, 10);
        manager.Write(state, "periodic");
        manager.WaitForPruning();
        At(state, 20);

        var note = manager.Write(state, "periodic");

        // Held back at the manifest: written, not complete, not counted.
        Assert.Contains("checkpoint ckpt-00000002 written (periodic)", note, StringComparison.Ordinal);
        Assert.Contains("completed in the background", note, StringComparison.Ordinal);
        Assert.False(store.HasManifest(2));
        Assert.Equal(1L, manager.Last!.Id);
        Assert.Equal(1, manager.Written);

        // The restore must roll back to ckpt-2 (iteration 20); had it not waited, it would find only ckpt-1.
        At(state, 25);
        var release = new Thread(() =>
        {
            Thread.Sleep(300);
            gate.Set();
        });
        release.Start();
        var (restored, _) = manager.Restore(state);
        release.Join();

        Assert.True(restored);
        Assert.Equal(20L, state.Iteration);
        Assert.Equal(2L, manager.Last!.Id);
        Assert.Equal(2, manager.Written);
        Assert.Contains("checkpoint ckpt-00000002 complete (periodic): iteration 20", Log, StringComparison.Ordinal);
    }

    [Fact]
    public void TheJobsEnd_WaitsForTheBackgroundManifest_BeforeTheResultNamesTheCheckpoint()
    {
        using var gate = new ManualResetEventSlim();
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-bg-end")) { BeforeManifest = id => Hold(id, 1, gate) };
        var manager = NewManager(store, keep: 3);
        var state = new ControlLoopState { Tolerance = 1e-6, Residual = 1 };
        At(state, 10);
        manager.Write(state, "command");
        Assert.Equal(("checkpoint", "none"), Assert.Single(manager.ResultFields()));

        var release = new Thread(() =>
        {
            Thread.Sleep(300);
            gate.Set();
        });
        release.Start();
        manager.WaitForPruning();
        release.Join();

        Assert.True(store.HasManifest(1));
        Assert.Null(store.VerifyPart(1, store.ReadManifest(1).Parts[0]));
        Assert.Contains(("checkpoint", store.FolderOf(1)), manager.ResultFields());
        Assert.Contains(("checkpoint_iteration", "10"), manager.ResultFields());
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("deadline")]
    [InlineData("signal stop")]
    [InlineData("advance signal")]
    public void ACheckpointAfterWhichTheJobEnds_IsCompleteWhenWriteReturns(string reason)
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-bg-final")) { BeforeManifest = _ => Thread.Sleep(200) };
        var manager = NewManager(store, keep: 3);
        var state = new ControlLoopState { Tolerance = 1e-6, Residual = 1 };
        At(state, 10);

        var note = manager.Write(state, reason);

        Assert.StartsWith($"checkpoint ckpt-00000001 complete ({reason})", note, StringComparison.Ordinal);
        Assert.True(store.HasManifest(1));
        Assert.Equal(1L, manager.Last!.Id);
        Assert.Equal(1, manager.Written);
    }

    [Fact]
    public void ABackgroundManifestThatFails_LeavesThePreviousCheckpointTheNewestAndUnpruned()
    {
        var store = new CheckpointStore(Repo.NewTempFolder("ckpt-bg-fail"))
        {
            BeforeManifest = id =>
            {
                if (id == 2)
                {
                    throw new IOException("No space left on device");
                }
            },
        };
        var manager = NewManager(store, keep: 1);
        var state = new ControlLoopState { Tolerance = 1e-6, Residual = 1 };
        At(state, 10);
        manager.Write(state, "periodic");
        At(state, 20);
        manager.Write(state, "periodic");

        manager.WaitForPruning();

        Assert.Equal(1L, manager.Last!.Id);
        Assert.Equal(1, manager.Written);
        Assert.Contains("checkpoint ckpt-00000002 not complete: manifest not written (No space left on device); ckpt-00000001 stays the newest", Log, StringComparison.Ordinal);
        Assert.True(store.HasManifest(1));
        Assert.False(store.HasManifest(2));

        // The next checkpoint goes ahead and, once complete, prunes both.
        At(state, 30);
        manager.Write(state, "periodic");
        manager.WaitForPruning();
        Assert.Equal(3L, manager.Last!.Id);
        Assert.Equal([3L], store.ListIds());
    }

    private static void Hold(long id, long held, ManualResetEventSlim gate)
    {
        if (id == held && !gate.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new IOException("test gate never opened");
        }
    }

    private static void At(ControlLoopState state, long iteration)
    {
        state.Iteration = iteration;
        state.TotalIterations = iteration;
    }

    private CheckpointManager NewManager(CheckpointStore store, int keep)
    {
        var manager = new CheckpointManager(store, new RelaxationSolver(size: 16), new SingleProcessCoordinator(), "test", "relaxation", keep, _log.Enqueue, null);
        manager.Initialize();
        return manager;
    }
}
