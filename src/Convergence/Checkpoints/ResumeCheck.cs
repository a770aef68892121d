using System.Buffers.Binary;
using System.Text;
using Convergence.Coordination;
using Convergence.Options;

namespace Convergence.Checkpoints;

/// <summary>
/// The decision whether <c>--resume</c> can go ahead, taken before rank 0 starts its services: a folder that
/// holds complete checkpoints of which none fits the job is a usage error like a bad option (one line on
/// stderr, exit code 2, nothing written), not a failed run that replaces the previous run's result.
/// </summary>
/// <remarks>
/// Collective: rank 0 reads the manifests and decides, every rank takes its verdict from one broadcast, so
/// every rank refuses alike and none is left waiting or hands a failure to a rank 0 that has already gone.
/// The parts are not read here (their checks stay with the load); a checkpoint that fits here but fails its
/// check while loading, with nothing else that fits, is still refused there, after rank 0 has started its
/// services (then rank 0 records it, exit code 2).
/// </remarks>
internal static class ResumeCheck
{
    /// <summary>
    /// Collective: throws on every rank alike when <paramref name="store"/> holds complete checkpoints but none
    /// fits a job of this rank count and key (rank 0 logs each one skipped, once); returns when one fits or
    /// when there is none at all (the job then starts fresh, as documented).
    /// </summary>
    /// <exception cref="OptionsException">Nothing fits; the message is the one line for stderr.</exception>
    /// <param name="store">The checkpoint folder.</param>
    /// <param name="key">This job's compatibility key.</param>
    /// <param name="declaresArrays">The solver declares global arrays (<see cref="Convergence.Solver.IDistributedCheckpointable"/>): a checkpoint with a layout then fits any rank count.</param>
    /// <param name="coordinator">The collectives.</param>
    /// <param name="log">This rank's log.</param>
    /// <param name="only">The checkpoint <c>--resume=ckpt-…</c> names (refused unless that one is complete and fits), or null.</param>
    public static void RefuseIfNothingFits(CheckpointStore store, string key, bool declaresArrays, ICoordinator coordinator, Action<string> log, long? only = null)
    {
        var sameKey = SameKeyAsRankZero(coordinator, key);
        if (!sameKey)
        {
            log($"checkpoints: this rank's compatibility key '{key}' is not rank 0's, so no checkpoint can fit the whole job");
        }

        var others = coordinator.AllreduceSum(sameKey ? 0 : 1);
        var refusal = string.Empty;
        if (coordinator.Rank == 0)
        {
            refusal = only is { } named
                ? DecideNamed(store, named, key, declaresArrays, coordinator.Size, (int)others)
                : Decide(store, key, declaresArrays, coordinator.Size, (int)others, log);
        }

        var bytes = Encoding.UTF8.GetBytes(refusal);
        var length = BroadcastLong(coordinator, bytes.Length);
        if (length == 0)
        {
            return;
        }

        if (coordinator.Rank != 0)
        {
            bytes = new byte[length];
        }

        coordinator.Broadcast(bytes);
        throw new OptionsException($"--resume{(only is { } id ? "=" + CheckpointStore.NameOf(id) : string.Empty)}: {Encoding.UTF8.GetString(bytes)}");
    }

    /// <summary>Collective: true on the ranks whose compatibility key is rank 0's (no checkpoint can fit the whole job otherwise).</summary>
    public static bool SameKeyAsRankZero(ICoordinator coordinator, string key)
    {
        if (coordinator.Size == 1)
        {
            return true;
        }

        var bytes = coordinator.Rank == 0 ? Encoding.UTF8.GetBytes(key) : [];
        var length = BroadcastLong(coordinator, bytes.Length);
        if (coordinator.Rank != 0)
        {
            bytes = new byte[length];
        }

        coordinator.Broadcast(bytes);
        var rootKey = Encoding.UTF8.GetString(bytes);
        return string.Equals(rootKey, key, StringComparison.Ordinal);
    }

    /// <summary>Rank 0: why the named checkpoint cannot be loaded into this job, or empty when it is complete and fits (its parts are checked by the load).</summary>
    private static string DecideNamed(CheckpointStore store, long id, string key, bool declaresArrays, int ranks, int otherKeys)
    {
        var name = CheckpointStore.NameOf(id);
        try
        {
            if (!store.ListIds().Contains(id))
            {
                return $"{name} is not in {store.Root} (see 'convergence checkpoints list --checkpoint-dir {store.Root}')";
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot read {store.Root}: {ex.Message}";
        }

        if (CheckpointInspection.ReadComplete(store, id, out var problem) is not { } manifest)
        {
            return $"{name} cannot be loaded: {problem}";
        }

        var misfit = CheckpointManager.Misfit(manifest, ranks, key, declaresArrays ? CheckpointManager.AnyArrays : null)
            ?? (otherKeys > 0 ? $"{otherKeys} rank(s) have another compatibility key than rank 0 (see their log)" : null);
        return misfit is null ? string.Empty : $"{name} does not fit this job: {misfit}";
    }

    /// <summary>Rank 0: the refusal, or empty when the job may go on (something fits, or nothing is complete).</summary>
    private static string Decide(CheckpointStore store, string key, bool declaresArrays, int ranks, int otherKeys, Action<string> log)
    {
        var skippedLines = new List<string>();
        var incompatible = 0;
        var skipped = 0;
        string? newestMisfit = null;
        try
        {
            foreach (var id in store.ListIds())
            {
                if (CheckpointInspection.ReadComplete(store, id, out _) is not { } manifest)
                {
                    skipped++;
                    continue;
                }

                var misfit = CheckpointManager.Misfit(manifest, ranks, key, declaresArrays ? CheckpointManager.AnyArrays : null)
                    ?? (otherKeys > 0 ? $"{CheckpointStore.NameOf(id)}: {otherKeys} rank(s) have another compatibility key than rank 0 (see their log)" : null);
                if (misfit is null)
                {
                    // One fits: the load checks its parts and reads it.
                    return string.Empty;
                }

                incompatible++;
                newestMisfit ??= misfit;
                skippedLines.Add($"checkpoint {CheckpointStore.NameOf(id)} skipped, it does not fit this job: {misfit}");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The load reads the folder again and reports what is wrong with it.
            log($"resume: cannot read {store.Root} ahead of the load: {ex.Message}");
            return string.Empty;
        }

        if (incompatible == 0)
        {
            return string.Empty;
        }

        foreach (var line in skippedLines)
        {
            log(line);
        }

        return CheckpointManager.NothingFits(store.Root, incompatible, skipped, newestMisfit);
    }

    private static long BroadcastLong(ICoordinator coordinator, long value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
        coordinator.Broadcast(buffer);
        return BinaryPrimitives.ReadInt64LittleEndian(buffer);
    }
}
