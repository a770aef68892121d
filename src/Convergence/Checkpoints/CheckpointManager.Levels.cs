using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Convergence.Checkpoints;

/// <summary>
/// Two-level checkpoints: a checkpoint folder that is node-local (each node its own <c>/scratch</c>) plus a
/// shared level every node sees.
/// </summary>
/// <remarks>
/// At <see cref="Initialize"/> every rank leaves a marker in the checkpoint folder and looks which markers it
/// sees: when some rank does not see them all, the folder is node-local, and the lowest rank that sees a given
/// folder is its leader. Then each checkpoint is written as before into the node-local folders (the commit
/// point is still rank 0's manifest, so crash safety is unchanged), rank 0 broadcasts the manifest and every
/// leader writes the same manifest into its node's folder and prunes that folder with the same rule (the
/// newest <c>keep</c>), so every node holds the same checkpoints. Each rank then copies its part to the shared
/// level on a background thread (a temporary name, flushed, renamed, read back and checked against the
/// manifest's SHA-256); rank 0 writes the manifest there too. The solver never waits for the copy, except that
/// the next checkpoint waits for the previous copy, and the job's end for the last.
/// A resume or <c>RESTART checkpoint</c> takes the newest checkpoint of which every rank can read the manifest
/// and its own part from either level: the candidate is agreed by a maximum over what each rank sees, and each
/// rank reports whether it can read its part; so a checkpoint some rank cannot read is skipped (and named), never
/// called interrupted, and the folders of other nodes are never touched by a rank that does not see them.
/// </remarks>
public sealed partial class CheckpointManager
{
    // Two-level verdicts, worst (largest) wins.
    private const long LevelUsable = 0;
    private const long LevelDamaged = 1;
    private const long LevelMissing = 2;
    private const long LevelMisfit = 3;

    // Whether the checkpoint folder is node-local (not the same folder for every rank): then parts are copied
    // to the shared level. The same on every rank.
    private bool _nodeLocal;

    // Whether checkpoints are looked for in both levels (node-local folder, or the shared level holds some).
    private bool _twoLevels;

    // Whether this rank writes its folder's manifest and prunes that folder (rank 0 for its own folder, and the
    // lowest rank of every other folder).
    private bool _leader;

    // How many different folders the ranks see under the checkpoint folder's name.
    private int _folders = 1;

    // This rank's background copy of its newest part to the shared level: success and duration.
    private Task<(bool Ok, double Milliseconds)>? _flush;
    private long _flushId;

    // A non-root leader's background manifest and pruning of its node's folder.
    private Task? _nodeWork;

    // Set by a two-level load that found checkpoints but none every rank can read completely.
    private bool _unloadable;

    /// <summary>
    /// The shared level (see the remarks): used when it is another folder than the checkpoint folder. Parts are
    /// copied there only when the checkpoint folder turns out node-local; a resume reads from it whenever set.
    /// </summary>
    public CheckpointStore? SharedStore { get; init; }

    /// <summary>Rank 0: every rank's host by rank, for the manifest's record of which node holds which part; empty elsewhere.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    /// <summary>True when the checkpoint folder was found node-local (not the same folder for every rank).</summary>
    public bool NodeLocal => _nodeLocal;

    /// <summary>
    /// Collective: the probe (see the remarks); true when the checkpoint folder is node-local or the shared level
    /// already holds a checkpoint (one this job may resume from). Otherwise the job uses its one folder as before.
    /// </summary>
    private bool UseTwoLevels()
    {
        ProbeFolders();
        _twoLevels = _nodeLocal || _coordinator.AllreduceMax(SharedStore!.NewestWithManifest(long.MaxValue)) >= 0;
        return _twoLevels;
    }

    /// <summary>Collective: the next checkpoint number over every node and level, and rank 0's line about the levels.</summary>
    private long InitializeTwoLevels()
    {
        var shared = SharedStore!;
        var newestFolder = Math.Max(FirstId(_store), FirstId(shared));
        var next = (long)_coordinator.AllreduceMax(newestFolder) + 1;
        var newestComplete = (long)_coordinator.AllreduceMax(Math.Max(_store.NewestWithManifest(long.MaxValue), shared.NewestWithManifest(long.MaxValue)));
        if (_coordinator.Rank == 0)
        {
            var (here, hereIncomplete) = SafeCount(_store);
            var (there, _) = SafeCount(shared);
            var newest = newestComplete < 0 ? "none" : CheckpointStore.NameOf(newestComplete);
            var holds = FormattableString.Invariant(
                $"rank 0's node holds {here} complete checkpoint(s){(hereIncomplete > 0 ? $" and {hereIncomplete} folder(s) without a manifest" : string.Empty)}, the shared level {there}; the newest on any node or level: {newest}; new ones start at {CheckpointStore.NameOf(next)}, keep {_keep}");
            _log(_nodeLocal
                ? $"checkpoints: folder {_store.Root} is node-local (the ranks see {_folders} different folders by that name); each part is also copied in the background to the shared level {shared.Root}; {holds}"
                : $"checkpoints: folder {_store.Root} is seen by every rank; a resume also reads parts from {shared.Root}; {holds}");
        }

        return Math.Max(next, 1);
    }

    /// <summary>Collective: every rank leaves a marker and counts those it sees (see the remarks).</summary>
    private void ProbeFolders()
    {
        if (_coordinator.Size == 1)
        {
            _leader = true;
            return;
        }

        // One token per job, from rank 0, so each rank looks for this job's markers only.
        Span<byte> token = stackalloc byte[8];
        if (_coordinator.Rank == 0)
        {
            RandomNumberGenerator.Fill(token);
        }

        _coordinator.Broadcast(token);
        var name = Convert.ToHexStringLower(token);
        string? problem = null;
        try
        {
            _store.LeaveProbe(name, _coordinator.Rank);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = ex.Message;
        }

        _coordinator.Barrier();
        IReadOnlyList<int> seen;
        try
        {
            seen = problem is null ? _store.SeenProbes(name) : [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = ex.Message;
            seen = [];
        }

        _coordinator.Barrier();
        _store.RemoveProbe(name, _coordinator.Rank);
        if (problem is not null)
        {
            _log($"checkpoints: cannot use {_store.Root} on this rank ({problem}); it counts as a folder of its own");
        }

        // A rank that could not probe (a full disk, say) says nothing about sharing: the write fails later, as in one folder.
        var probed = _coordinator.AllreduceSum(problem is null ? 1 : 0);
        _leader = _coordinator.Rank == 0 || (problem is null && seen.Count > 0 && seen[0] == _coordinator.Rank);
        _nodeLocal = _coordinator.AllreduceMax(problem is null && seen.Count < probed ? 1 : 0) > 0;
        _folders = (int)_coordinator.AllreduceSum(_leader ? 1 : 0);
    }

    /// <summary>
    /// Collective, after a checkpoint is agreed complete: rank 0 hands its manifest to every leader, which writes
    /// it into its node's folder (in the background when the job goes on) and prunes that folder; every rank starts
    /// copying its part to the shared level.
    /// </summary>
    private void AfterCommit(long id, CheckpointPart part, CheckpointManifest? rootManifest, bool goesOn)
    {
        if (_folders > 1)
        {
            var bytes = rootManifest is null ? [] : Encoding.UTF8.GetBytes(rootManifest.Format());
            var length = (int)BroadcastLong(bytes.Length);
            if (_coordinator.Rank != 0)
            {
                bytes = new byte[length];
            }

            _coordinator.Broadcast(bytes);
            if (_coordinator.Rank != 0 && _leader)
            {
                var manifest = CheckpointManifest.Parse(Encoding.UTF8.GetString(bytes));
                if (goesOn)
                {
                    _nodeWork = Task.Run(() =>
                    {
                        WriteNodeManifest(manifest);
                        PruneNode(id);
                    });
                }
                else
                {
                    WriteNodeManifest(manifest);
                    _nodeWork = Task.Run(() => PruneNode(id));
                }
            }
        }

        _flushId = id;
        _flush = Task.Run(() => CopyToShared(id, part));
    }

    /// <summary>A non-root leader: the manifest in its node's folder, so the node's checkpoints are complete there too.</summary>
    private void WriteNodeManifest(CheckpointManifest manifest)
    {
        try
        {
            _store.WriteManifest(manifest);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log($"checkpoint {CheckpointStore.NameOf(manifest.Id)}: manifest not written into this node's {_store.Root} ({ex.Message}); the parts here are read through the shared level's manifest");
        }
    }

    /// <summary>A non-root leader: the same pruning as rank 0's, in its node's folder.</summary>
    private void PruneNode(long newest)
    {
        try
        {
            var removed = _store.Prune(_keep, newest);
            if (removed.Count > 0)
            {
                _log($"checkpoints: removed {string.Join(",", removed)} from this node's {_store.Root} (keep {_keep})");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log($"checkpoints: could not remove old checkpoints in this node's {_store.Root}: {ex.Message} (left for the next checkpoint)");
        }
    }

    /// <summary>Background: this rank's part of <paramref name="id"/> into the shared level, verified.</summary>
    private (bool Ok, double Milliseconds) CopyToShared(long id, CheckpointPart part)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            _store.CopyPartTo(SharedStore!, id, part);
            return (true, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log($"checkpoint {CheckpointStore.NameOf(id)}: this rank's part did not reach the shared level {SharedStore!.Root}: {ex.Message}; it stays only in this node's {_store.Root}");
            return (false, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    /// <summary>
    /// Collective, before a new checkpoint: waits for this rank's copy of the previous one and tells rank 0
    /// whether every part reached the shared level (one log line).
    /// </summary>
    private void ReportSharedCopies()
    {
        if (!_nodeLocal || _flush is null)
        {
            return;
        }

        var waited = Stopwatch.GetTimestamp();
        var (ok, ms) = _flush.GetAwaiter().GetResult();
        var wait = Stopwatch.GetElapsedTime(waited).TotalMilliseconds;
        _flush = null;
        var failed = _coordinator.AllreduceSum(ok ? 0 : 1);
        var slowest = _coordinator.AllreduceMax(ms);
        var waitedMost = _coordinator.AllreduceMax(wait);
        if (_coordinator.Rank == 0)
        {
            _log(failed == 0
                ? FormattableString.Invariant($"checkpoint {CheckpointStore.NameOf(_flushId)}: every part is in the shared level {SharedStore!.Root} (verified; slowest copy {slowest:0.#} ms, the next checkpoint waited {waitedMost:0.#} ms for it)")
                : FormattableString.Invariant($"checkpoint {CheckpointStore.NameOf(_flushId)}: {failed} part(s) did not reach the shared level {SharedStore!.Root} (see those ranks' lines); it is complete only on the nodes"));
        }
    }

    /// <summary>Rank 0: the manifest in the shared level too (after the node-local one, which is the commit point).</summary>
    private void WriteSharedManifest(CheckpointManifest manifest)
    {
        if (!_nodeLocal)
        {
            return;
        }

        try
        {
            SharedStore!.WriteManifestCreatingFolder(manifest);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log($"checkpoint {CheckpointStore.NameOf(manifest.Id)}: manifest not written into the shared level {SharedStore!.Root} ({ex.Message}); the checkpoint is complete only on the nodes");
        }
    }

    /// <summary>Rank 0: the shared level pruned like the node-local folders.</summary>
    private void PruneShared(long newest)
    {
        if (!_nodeLocal)
        {
            return;
        }

        try
        {
            var removed = SharedStore!.Prune(_keep, newest);
            if (removed.Count > 0)
            {
                _log($"checkpoints: removed {string.Join(",", removed)} from the shared level {SharedStore.Root} (keep {_keep})");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log($"checkpoints: could not remove old checkpoints in the shared level {SharedStore!.Root}: {ex.Message} (left for the next checkpoint)");
        }
    }

    /// <summary>Waits for this rank's background copy and, on a leader, its node's manifest and pruning. Not collective.</summary>
    private void WaitForLevels()
    {
        if (_nodeWork is { } work)
        {
            _nodeWork = null;
            work.GetAwaiter().GetResult();
        }

        if (_flush is { } flush)
        {
            // Failures were logged by the copy; the next checkpoint's report is the collective one.
            flush.GetAwaiter().GetResult();
        }
    }

    /// <summary>At the job's end: the spare parts of the node-local folders of the other leaders, and of the shared level.</summary>
    private void RemoveLevelSpares()
    {
        try
        {
            if (_nodeLocal && _leader && _coordinator.Rank != 0)
            {
                _store.RemoveSpare();
            }

            if (_nodeLocal && _coordinator.Rank == 0)
            {
                SharedStore!.RemoveSpare();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log($"checkpoints: could not remove spare parts: {ex.Message} (the next job's first checkpoint reuses or removes them)");
        }
    }

    /// <summary>
    /// Collective: the newest checkpoint that every rank can read completely from either level (see the remarks),
    /// loaded. Null with the reason when there is none; <see cref="_unloadable"/> is then set when some checkpoint
    /// exists but no rank set could read one completely (the reason names the missing parts and where they are).
    /// </summary>
    /// <param name="only">The one checkpoint to consider (<c>--resume=ckpt-…</c>, <c>RESTART checkpoint ckpt-…</c>); null for the newest.</param>
    private (CheckpointManifest? Manifest, string Why) LoadNewestTwoLevels(long? only)
    {
        WaitForLevels();
        var shared = SharedStore!;
        var isRoot = _coordinator.Rank == 0;
        _keyLikeRankZero ??= ResumeCheck.SameKeyAsRankZero(_coordinator, _key);
        _incompatible = 0;
        _unloadable = false;
        var skipped = 0;
        string? firstMisfit = null;
        string? firstMissing = null;
        var below = only is { } named ? named + 1 : long.MaxValue;
        Span<double> mine = stackalloc double[2];
        while (true)
        {
            var id = (long)_coordinator.AllreduceMax(Math.Max(_store.NewestWithManifest(below), shared.NewestWithManifest(below)));
            if (only is { } wanted && id != wanted)
            {
                // The named one was not found, or was tried and skipped above: never an older one instead.
                var why = firstMissing ?? firstMisfit ?? (skipped > 0 ? "is damaged in both levels" : $"is not in {_store.Root} or {shared.Root}");
                return (null, $"{CheckpointStore.NameOf(wanted)}: {why}");
            }

            if (id < 0)
            {
                if (firstMissing is not null && _incompatible == 0)
                {
                    _unloadable = true;
                    return (null, $"no checkpoint that every rank can read completely from {_store.Root} or {shared.Root}: {firstMissing}");
                }

                return (null, _incompatible > 0
                    ? NothingFits(_store.Root, _incompatible, skipped, firstMisfit)
                    : skipped == 0 ? $"no checkpoint in {_store.Root} or {shared.Root}" : $"no complete checkpoint in {_store.Root} or {shared.Root} ({skipped} skipped)");
            }

            below = id;
            var name = CheckpointStore.NameOf(id);
            var manifest = ReadEitherManifest(id, out var manifestProblem);
            var misfit = manifest is null ? null : Misfit(manifest);
            string? problem = null;
            var missing = false;
            var fromShared = false;
            Stream? part = null;
            if (manifest is null)
            {
                problem = $"no readable manifest on this node or in the shared level ({manifestProblem})";
                missing = true;
            }
            else if (misfit is null && manifest.Ranks != _coordinator.Size)
            {
                // A node-local checkpoint is read part by part where each rank finds its own; another rank count
                // would need other ranks' parts from other nodes.
                misfit = $"{name} was written by {manifest.Ranks} rank(s) into node-local folders; this job has {_coordinator.Size}: a two-level checkpoint loads on the same rank count only";
            }
            else if (misfit is null)
            {
                part = OpenEitherLevel(manifest, out problem, out missing, out fromShared);
            }

            using var opened = part;
            using var sources = part is null ? null : PartSources.OwnOnly(manifest!, _coordinator.Rank, DeclaredArrays(), part, out problem);
            if (part is not null && sources is null)
            {
                part = null;
            }

            if (problem is not null)
            {
                _log($"checkpoint {name}: this rank cannot read its part: {problem}");
            }

            mine[0] = misfit is not null ? LevelMisfit : part is not null ? LevelUsable : missing ? LevelMissing : LevelDamaged;
            mine[1] = manifest is null ? -1 : Fingerprint(manifest);
            var verdict = AgreeOnLevels(mine, out var ranks);
            if (verdict == LevelMisfit)
            {
                _incompatible++;
                misfit ??= $"{name}: rank(s) {ranks} have another compatibility key than rank 0 (see their log)";
                firstMisfit ??= misfit;
                if (isRoot)
                {
                    _log($"checkpoint {name} skipped, it does not fit this job: {misfit}");
                }

                continue;
            }

            if (verdict == LevelMissing)
            {
                skipped++;
                firstMissing ??= isRoot ? MissingParts(name, manifest, ranks) : $"{name} lacks parts (see rank 0's log)";
                if (isRoot)
                {
                    _log($"checkpoint {name} skipped: not every rank can read its part here: {MissingParts(name, manifest, ranks)}; trying an older one");
                }

                continue;
            }

            if (verdict == LevelDamaged)
            {
                skipped++;
                if (isRoot)
                {
                    _log($"checkpoint {name} skipped: part(s) of rank(s) {ranks} truncated or altered in both levels, or the ranks found different manifests (see their lines); trying an older one");
                }

                continue;
            }

            if (fromShared)
            {
                _log($"checkpoint {name}: this rank's part is read from the shared level {shared.Root} (not in this node's {_store.Root})");
            }

            ReadVerified(sources!.Load, name);
            return (manifest, string.Empty);
        }
    }

    /// <summary>Rank 0: which parts of checkpoint <paramref name="name"/> are missing, and where they were written.</summary>
    private string MissingParts(string name, CheckpointManifest? manifest, string ranks)
    {
        var hosts = manifest?.PartHosts ?? [];
        var where = ranks.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(r => int.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out var rank) && rank < hosts.Count ? hosts[rank] : null)
            .Where(h => h is not null)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var written = where.Count == 0 ? $"written into {_store.Root} of nodes rank 0 cannot name" : $"written into {_store.Root} on {string.Join(",", where)}";
        return $"{name} lacks the part(s) of rank(s) {ranks}: {written}, not on the nodes of those ranks now and not (completely) in the shared level {SharedStore!.Root}; run on the nodes that hold them, or copy them into {SharedStore.FolderOf(CheckpointStoreId(name))}";
    }

    private static long CheckpointStoreId(string name) =>
        long.Parse(name.AsSpan(name.IndexOf('-', StringComparison.Ordinal) + 1), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>This rank's view of checkpoint <paramref name="id"/>'s manifest: its node's, else the shared level's; null when neither verifies.</summary>
    private CheckpointManifest? ReadEitherManifest(long id, out string? problem)
    {
        problem = null;
        foreach (var store in new[] { _store, SharedStore! })
        {
            if (!store.HasManifest(id))
            {
                problem = problem is null ? $"none in {store.Root}" : $"{problem}; none in {store.Root}";
                continue;
            }

            try
            {
                return store.ReadManifest(id);
            }
            catch (InvalidDataException ex)
            {
                problem = problem is null ? $"{store.Root}: {ex.Message}" : $"{problem}; {store.Root}: {ex.Message}";
            }
        }

        return null;
    }

    /// <summary>
    /// This rank's part of <paramref name="manifest"/>, verified, from its node's folder or else the shared level.
    /// Null with the problem otherwise; <paramref name="missing"/> when it is in neither (as opposed to damaged).
    /// </summary>
    private Stream? OpenEitherLevel(CheckpointManifest manifest, out string? problem, out bool missing, out bool fromShared)
    {
        var want = manifest.Parts[_coordinator.Rank];
        fromShared = false;
        missing = false;
        problem = null;
        Stream? opened = null;
        string? localProblem;
        string? sharedProblem = null;
        try
        {
            opened = _store.OpenVerifiedPart(manifest.Id, want, out localProblem);
            if (opened is null)
            {
                opened = SharedStore!.OpenVerifiedPart(manifest.Id, want, out sharedProblem);
                fromShared = opened is not null;
            }

            if (opened is not null)
            {
                var result = opened;
                opened = null;
                return result;
            }
        }
        finally
        {
            opened?.Dispose();
        }

        var missingHere = localProblem is not null && localProblem.EndsWith("is missing", StringComparison.Ordinal);
        var missingThere = sharedProblem is not null && sharedProblem.EndsWith("is missing", StringComparison.Ordinal);
        missing = missingHere || missingThere;
        problem = $"{_store.Root} on {Environment.MachineName}: {localProblem}; shared level {SharedStore!.Root}: {sharedProblem}";
        return null;
    }

    /// <summary>The first 48 bits of the manifest's own checksum, exact in a double: the ranks must all have read the same one.</summary>
    private static double Fingerprint(CheckpointManifest manifest)
    {
        var hash = Convert.FromHexString(CheckpointManifest.Hash(manifest.Format()));
        long value = 0;
        for (var i = 0; i < 6; i++)
        {
            value = (value << 8) | hash[i];
        }

        return value;
    }

    /// <summary>
    /// Collective: rank 0 gathers each rank's verdict and manifest fingerprint, makes ranks whose manifest differs
    /// from another's count as damaged, and broadcasts the worst verdict; on rank 0 <paramref name="ranks"/> lists
    /// the ranks that have it.
    /// </summary>
    private long AgreeOnLevels(ReadOnlySpan<double> mine, out string ranks)
    {
        var isRoot = _coordinator.Rank == 0;
        var table = isRoot ? _table.AsSpan(0, _coordinator.Size * 2) : Span<double>.Empty;
        _coordinator.Gather(mine, table);
        long worst = LevelUsable;
        ranks = "?";
        if (isRoot)
        {
            var prints = new HashSet<double>();
            for (var r = 0; r < _coordinator.Size; r++)
            {
                if (table[(r * 2) + 1] >= 0)
                {
                    prints.Add(table[(r * 2) + 1]);
                }
            }

            var verdicts = new long[_coordinator.Size];
            for (var r = 0; r < _coordinator.Size; r++)
            {
                verdicts[r] = prints.Count > 1 && (long)table[r * 2] == LevelUsable ? LevelDamaged : (long)table[r * 2];
                worst = Math.Max(worst, verdicts[r]);
            }

            var list = new List<int>();
            for (var r = 0; r < verdicts.Length; r++)
            {
                if (verdicts[r] == worst && worst != LevelUsable)
                {
                    list.Add(r);
                }
            }

            ranks = string.Join(",", list);
        }

        return BroadcastLong(worst);
    }

    private static long FirstId(CheckpointStore store)
    {
        try
        {
            var ids = store.ListIds();
            return ids.Count == 0 ? 0 : ids[0];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static (int Complete, int Incomplete) SafeCount(CheckpointStore store)
    {
        try
        {
            return store.Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (0, 0);
        }
    }
}
