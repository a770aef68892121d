using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Options;
using Convergence.Solver;
using Convergence.Status;

namespace Convergence.Checkpoints;

/// <summary>
/// Writes, verifies and restores checkpoints collectively: every rank writes its own part, rank 0 gathers
/// every part's size and checksum, writes the manifest that makes the checkpoint complete only when all
/// are on disk, and broadcasts one verdict. A checkpoint is loaded only into a job with the same
/// compatibility key (<see cref="ICheckpointable.CompatibilityKey"/>) and rank count, checked on every rank
/// before any rank reads its part.
/// </summary>
/// <remarks>
/// Every public method except <see cref="ResultFields"/>, <see cref="WaitForBackground"/> and
/// <see cref="WaitForPruning"/> is collective: all ranks call it at the same iteration, on the loop's
/// thread. Disk errors never split the ranks: a rank that fails to write or verify its part says so in the
/// same gather, and every rank then takes the same decision (the checkpoint is abandoned, or an older one is
/// tried). Each collective sends a constant amount per rank; only rank 0's gather buffer grows with the rank
/// count.
/// A checkpoint after which the job goes on (periodic, <c>CHECKPOINT</c>, SIGUSR1) is completed on rank 0's
/// background thread: the manifest (the commit point), the folder flushes, then the pruning, while the loop
/// iterates. It counts as complete (<see cref="Last"/>, <see cref="Written"/>, the page, the log's
/// <c>complete</c> line) only once its manifest is durable, and everything that reads "the last checkpoint"
/// waits for it first: the next checkpoint, a restore, the job's end (<see cref="WaitForPruning"/>). A
/// checkpoint after which the job ends (stop, signal stop, deadline, advance signal, or any other reason)
/// writes its manifest before <see cref="Write"/> returns. A crash before the manifest is durable leaves the
/// previous complete checkpoint the newest: nothing older is pruned before that.
/// </remarks>
public sealed partial class CheckpointManager : ICheckpointHandler
{
    // Per rank in the confirmation reduction: ok flag, length, and the SHA-256 as eight 32-bit words
    // (doubles hold them exactly, and a sum with zeros from the other ranks leaves them unchanged).
    private const int SlotsPerRank = 10;

    // Verdicts, ordered so that the worst (largest) over the ranks is the one every rank acts on.
    private const long VerdictUsable = 0;
    private const long VerdictDamaged = 1;
    private const long VerdictMisfit = 2;
    private const long VerdictComplete = 0;
    private const long VerdictNotComplete = 1;

    private readonly CheckpointStore _store;
    private readonly ICheckpointable _solver;
    private readonly ICoordinator _coordinator;
    private readonly string _job;
    private readonly string _solverName;
    private readonly int _keep;
    private readonly Action<string> _log;
    private readonly LiveStatus? _live;
    private readonly string _key;

    // Rank 0's gather buffer (every rank's slots); empty elsewhere, so no rank but the root grows with the rank count.
    private readonly double[] _table;
    private long _nextId;
    private int _incompatible;

    // Whether this rank's compatibility key is rank 0's: asked once, collectively, at the first load.
    private bool? _keyLikeRankZero;

    // Rank 0: the background completion of the newest checkpoint (its manifest when the manifest is written
    // there and succeeded, else null) and the pruning after it.
    private Task<CheckpointManifest?>? _background;

    /// <summary>Prepares checkpoints in <paramref name="store"/>; nothing is read or written until <see cref="Initialize"/>.</summary>
    /// <param name="store">The checkpoint folder.</param>
    /// <param name="solver">This rank's solver state.</param>
    /// <param name="coordinator">The collectives.</param>
    /// <param name="job">The job's name, written into manifests.</param>
    /// <param name="solverName">The solver's name, written into manifests.</param>
    /// <param name="keep">Complete checkpoints kept.</param>
    /// <param name="log">This rank's log.</param>
    /// <param name="live">Rank 0's status hand-over (null elsewhere).</param>
    public CheckpointManager(CheckpointStore store, ICheckpointable solver, ICoordinator coordinator, string job, string solverName, int keep, Action<string> log, LiveStatus? live)
    {
        _store = store;
        _solver = solver;
        _coordinator = coordinator;
        _job = job;
        _solverName = solverName;
        _keep = keep;
        _log = log;
        _live = coordinator.Rank == 0 ? live : null;
        _table = coordinator.Rank == 0 ? new double[coordinator.Size * SlotsPerRank] : [];
        _key = KeyOf(solver, solverName);
    }

    /// <summary>The compatibility key of <paramref name="solver"/>: its own, or <c>solver=</c> and its name when it gives none.</summary>
    internal static string KeyOf(ICheckpointable solver, string solverName)
    {
        var key = solver.CompatibilityKey;
        return CheckpointManifest.OneLine(string.IsNullOrWhiteSpace(key) ? $"solver={solverName}" : key.Trim());
    }

    /// <summary>
    /// Where the user gave the tolerance (e.g. <c>option --tolerance</c>, see <see cref="RunOptions.GivenBy"/>), or
    /// null when it is a default: on resume a given tolerance wins over the checkpoint's, a default does not.
    /// The same on every rank (the ranks compare it before the first collective).
    /// </summary>
    public string? ToleranceGivenBy { get; init; }

    /// <summary>
    /// True in a chained job's later link: it continues the same run with the same command line, so the
    /// checkpoint's tolerance (with any <c>CHANGE_TOLERANCE</c> sent during the chain) stays, given or not.
    /// </summary>
    internal bool ContinuesChain { get; init; }

    /// <summary>
    /// The checkpoint <c>--resume=ckpt-…</c> names: <see cref="Resume"/> loads that one or refuses (never an
    /// older one, never a fresh start); null for the newest that fits.
    /// </summary>
    public long? ResumeFrom { get; init; }

    /// <summary>The checkpoint folder.</summary>
    public CheckpointStore Store => _store;

    /// <summary>This job's compatibility key: the solver's, or <c>solver=</c> and its name when it gives none.</summary>
    public string Key => _key;

    /// <summary>
    /// The newest complete checkpoint this job wrote or resumed from; null if none. On rank 0 a checkpoint
    /// counts once its manifest is durable (after <see cref="WaitForPruning"/> when it completed in the
    /// background); on the other ranks once every part is written (the manifest is rank 0's).
    /// </summary>
    public CheckpointManifest? Last { get; private set; }

    /// <summary>Checkpoints completed by this job (counted as <see cref="Last"/> is).</summary>
    public int Written { get; private set; }

    /// <summary>Collective: agrees on the next checkpoint number (after every folder already there) and reports what the folder holds.</summary>
    public void Initialize()
    {
        if (SharedStore is not null && UseTwoLevels())
        {
            _nextId = InitializeTwoLevels();
            return;
        }

        long next = 1;
        if (_coordinator.Rank == 0)
        {
            var ids = _store.ListIds();
            next = ids.Count == 0 ? 1 : ids[0] + 1;
            var complete = ids.Count(_store.HasManifest);
            _log(complete == 0
                ? ids.Count == 0 ? $"checkpoints: folder {_store.Root} (empty), keep {_keep}" : $"checkpoints: folder {_store.Root} holds no complete checkpoint ({ids.Count} folder(s) without a manifest); new ones start at {CheckpointStore.NameOf(next)}, keep {_keep}"
                : $"checkpoints: folder {_store.Root} holds {complete} checkpoint(s), newest {CheckpointStore.NameOf(ids.First(_store.HasManifest))}; new ones start at {CheckpointStore.NameOf(next)}, keep {_keep}");
        }

        _nextId = BroadcastLong(next);
    }

    /// <summary>
    /// Collective: writes a checkpoint of <paramref name="state"/> and this rank's solver. Returns a one-line
    /// note (complete; written and completing in the background; or why not); a failed write leaves the
    /// previous checkpoint as the newest complete one. The job goes on after <paramref name="reason"/>
    /// <c>periodic</c>, <c>command</c> and <c>signal</c>, so those complete in the background (see the remarks);
    /// any other reason completes before this returns.
    /// </summary>
    public string Write(ControlLoopState state, string reason)
    {
        var started = Stopwatch.GetTimestamp();
        WaitForBackground();
        ReportSharedCopies();
        var id = _nextId++;
        var rank = _coordinator.Rank;
        var isRoot = rank == 0;
        CheckpointPart? part = null;
        string? error = null;
        var arrays = DeclaredArrays();
        try
        {
            part = _store.WritePart(id, rank, stream => WriteState(stream, arrays));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
            _log($"checkpoint {CheckpointStore.NameOf(id)}: could not write this rank's part: {ex.Message}");
        }

        // The confirmation: rank 0 collects every part's size and checksum (or its absence), writes the
        // manifest if all are there, and tells every rank the outcome in one broadcast. Only rank 0 holds
        // the O(ranks) table; every other rank sends and receives a constant amount.
        Span<double> mine = stackalloc double[SlotsPerRank];
        mine.Clear();
        if (part is not null)
        {
            Pack(part, mine);
        }

        _coordinator.Gather(mine, isRoot ? _table : Span<double>.Empty);
        var layout = arrays is null ? null : GatherLayout(arrays);
        var name = CheckpointStore.NameOf(id);
        string? note = null;
        CheckpointManifest? manifest = null;
        var verdict = VerdictComplete;
        if (isRoot)
        {
            var failed = FailedRanks(_table);
            if (failed.Count > 0)
            {
                verdict = VerdictNotComplete;
                note = $"checkpoint {name} not complete: rank(s) {string.Join(",", failed)} could not write their part{(error is null ? string.Empty : $" ({error})")}; {(Last is null ? "no earlier checkpoint" : $"{CheckpointStore.NameOf(Last.Id)} stays the newest")}";
            }
            else if (layout?.Gap() is { } gap)
            {
                verdict = VerdictNotComplete;
                note = $"checkpoint {name} not complete: the solver's declared arrays do not tile ({gap}); {(Last is null ? "no earlier checkpoint" : $"{CheckpointStore.NameOf(Last.Id)} stays the newest")}";
            }
            else
            {
                manifest = NewManifest(id, state, reason, Unpack(_table)) with { Layout = layout };
                if (!GoesOnAfter(reason))
                {
                    try
                    {
                        _store.WriteManifest(manifest);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        verdict = VerdictNotComplete;
                        note = ManifestFailed(name, ex);
                        manifest = null;
                    }
                }
            }
        }

        verdict = BroadcastLong(verdict);
        if (verdict != VerdictComplete)
        {
            note ??= $"checkpoint {name} not complete (see rank 0's log)";
            if (isRoot)
            {
                _log(note);
            }

            return note;
        }

        if (_nodeLocal)
        {
            AfterCommit(id, part!, manifest, GoesOnAfter(reason));
        }

        if (!isRoot)
        {
            // Only rank 0 has the checksums, the others keep what they need.
            Last = NewManifest(id, state, reason, []);
            Written++;
            return $"checkpoint {name} written";
        }

        if (GoesOnAfter(reason))
        {
            // The commit point off the loop's path: the manifest, the flushes and the pruning run on a
            // background thread (file operations only, no MPI), waited for by whatever reads the checkpoint.
            var pending = manifest!;
            _background = Task.Run(() => Complete(pending, started));
            return FormattableString.Invariant(
                $"checkpoint {name} written ({reason}): iteration {state.Iteration} total {state.TotalIterations}, {pending.Ranks} parts, {pending.TotalBytes} bytes, {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.#} ms; its manifest is completed in the background");
        }

        Last = manifest!;
        Written++;
        var done = Completed(Last, started);
        WriteSharedManifest(Last);
        _background = Task.Run(() =>
        {
            Prune(id);
            return (CheckpointManifest?)null;
        });
        return done;
    }

    /// <summary>True for the reasons after which the job goes on (see <see cref="Write"/>); unknown ones wait.</summary>
    private static bool GoesOnAfter(string reason) => reason is "periodic" or "command" or "signal";

    private string ManifestFailed(string name, Exception ex) =>
        $"checkpoint {name} not complete: manifest not written ({ex.Message}); {(Last is null ? "no earlier checkpoint" : $"{CheckpointStore.NameOf(Last.Id)} stays the newest")}";

    /// <summary>Rank 0: the log line, the page's record and the note of a checkpoint whose manifest is durable.</summary>
    private string Completed(CheckpointManifest manifest, long started)
    {
        var done = FormattableString.Invariant(
            $"checkpoint {CheckpointStore.NameOf(manifest.Id)} complete ({manifest.Reason}): iteration {manifest.Iteration} total {manifest.TotalIterations}, {manifest.Ranks} parts, {manifest.TotalBytes} bytes, {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.#} ms");
        _log(done);
        _live?.RecordCheckpoint(Describe(manifest));
        return done;
    }

    /// <summary>
    /// Rank 0's background thread: writes <paramref name="manifest"/> durably, then prunes. Returns it, or
    /// null when it could not be written (the checkpoint is then incomplete, the previous one stays the
    /// newest). Prunes only after the manifest is durable, so a crash at any moment leaves a complete one.
    /// </summary>
    private CheckpointManifest? Complete(CheckpointManifest manifest, long started)
    {
        try
        {
            _store.WriteManifest(manifest);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log(ManifestFailed(CheckpointStore.NameOf(manifest.Id), ex));
            return null;
        }

        Completed(manifest, started);
        WriteSharedManifest(manifest);
        Prune(manifest.Id);
        return manifest;
    }

    /// <summary>
    /// Collective: <c>RESTART checkpoint</c>. Rolls every rank back to the newest complete checkpoint that
    /// fits this job (same compatibility key and rank count) and verifies; the iteration count since the last
    /// restart and the residual come from it, the total count keeps running and the tolerance in force stays
    /// (a command the user gave since is not undone). Without such a checkpoint nothing changes and the
    /// note says why (the command is declined, the job goes on).
    /// </summary>
    /// <exception cref="InvalidDataException">The solver failed to read a verified part on some rank (on every rank alike).</exception>
    /// <param name="state">The loop's state, rolled back.</param>
    /// <param name="only">The checkpoint <c>RESTART checkpoint ckpt-…</c> names: that one or none (declined); null for the newest that fits.</param>
    public CheckpointRestore Restore(ControlLoopState state, long? only = null)
    {
        var (manifest, why) = LoadNewest(only);
        if (manifest is null)
        {
            return new CheckpointRestore(false, why);
        }

        state.Restarts++;
        state.Iteration = manifest.Iteration;
        state.Residual = manifest.Residual;
        var note = $"rolled back to {CheckpointStore.NameOf(manifest.Id)} (iteration {manifest.Iteration}, written at total {manifest.TotalIterations})";
        if (_coordinator.Rank == 0)
        {
            _log(note);
        }

        return new CheckpointRestore(true, note);
    }

    /// <summary>
    /// Collective: <c>--resume</c> at start. Restores counters, residual and restarts from the newest complete
    /// checkpoint that fits this job and verifies, and its tolerance unless the user gave one
    /// (<see cref="ToleranceGivenBy"/>); or leaves the fresh state when the folder holds no complete checkpoint
    /// at all. Rank 0 logs one line saying which values came from where.
    /// </summary>
    /// <exception cref="OptionsException">The folder holds complete checkpoints but none fits this job (on every rank alike).</exception>
    /// <exception cref="InvalidDataException">The solver failed to read a verified part on some rank (on every rank alike).</exception>
    public string Resume(ControlLoopState state)
    {
        var (manifest, why) = LoadNewest(ResumeFrom);
        if (manifest is null)
        {
            if (_incompatible > 0 || _unloadable || ResumeFrom is not null)
            {
                throw new OptionsException($"--resume{(ResumeFrom is { } named ? "=" + CheckpointStore.NameOf(named) : string.Empty)}: {why}");
            }

            var fresh = $"resume: {why}; starting from the initial state";
            if (_coordinator.Rank == 0)
            {
                _log(fresh);
            }

            return fresh;
        }

        state.Iteration = manifest.Iteration;
        state.TotalIterations = manifest.TotalIterations;
        state.Restarts = manifest.Restarts;
        state.Residual = manifest.Residual;

        // What the user typed wins over what the checkpoint remembers; a default does not, and neither does the
        // command line a chain repeats for each link (the run goes on, steered tolerance included).
        var sources = ToleranceGivenBy is { } givenBy && !ContinuesChain
            ? FormattableString.Invariant($"iteration, total, residual and restarts from the checkpoint, tolerance {state.Tolerance:G6} from {givenBy} (the checkpoint's {manifest.Tolerance:G6} is not used)")
            : ContinuesChain
                ? FormattableString.Invariant($"iteration, total, residual, restarts and tolerance {manifest.Tolerance:G6} from the checkpoint (a chain's later link continues the run; a tolerance given to the chain is not applied again)")
                : FormattableString.Invariant($"iteration, total, residual, restarts and tolerance {manifest.Tolerance:G6} from the checkpoint (a --tolerance or CONVERGENCE_TOLERANCE given would win)");
        if (ToleranceGivenBy is null || ContinuesChain)
        {
            state.Tolerance = manifest.Tolerance;
        }

        var note = FormattableString.Invariant($"resumed from {CheckpointStore.NameOf(manifest.Id)} at iteration {manifest.Iteration} (total {manifest.TotalIterations}), residual {manifest.Residual:G6}; {sources}");
        if (_coordinator.Rank == 0)
        {
            _log(note);
            _live?.RecordCheckpoint($"resumed from {Describe(manifest)}");
        }

        Last = manifest;
        return note;
    }

    /// <summary>
    /// Rank 0, on the background thread: removes checkpoints beyond the newest <c>keep</c> (file operations
    /// only, no MPI), so deleting a whole checkpoint's parts does not hold up the iterations. After the
    /// manifest: a crash while pruning leaves the new checkpoint complete and older ones either whole or
    /// without a manifest (ignored), never a folder that looks complete but is not.
    /// </summary>
    private void Prune(long newest)
    {
        PruneShared(newest);
        try
        {
            var removed = _store.Prune(_keep, newest);
            if (removed.Count > 0)
            {
                _log($"checkpoints: removed {string.Join(",", removed)} (keep {_keep})");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log($"checkpoints: could not remove old checkpoints in {_store.Root}: {ex.Message} (left for the next checkpoint)");
        }
    }

    private CheckpointManifest NewManifest(long id, ControlLoopState state, string reason, IReadOnlyList<CheckpointPart> parts) => new()
    {
        Id = id,
        Job = _job,
        Solver = _solverName,
        Key = _key,
        Ranks = _coordinator.Size,
        Iteration = state.Iteration,
        TotalIterations = state.TotalIterations,
        Tolerance = state.Tolerance,
        Residual = state.Residual,
        Restarts = state.Restarts,
        Reason = reason,
        CreatedAt = DateTimeOffset.UtcNow,
        Parts = parts,
        SharedLevel = _nodeLocal ? SharedStore?.Root : null,
        PartHosts = _nodeLocal && Hosts.Count == _coordinator.Size ? Hosts : [],
    };

    /// <inheritdoc />
    string ICheckpointHandler.ResumeAtStart(ControlLoopState state) => Resume(state);

    /// <summary>
    /// The job's end: waits for rank 0's background work (<see cref="WaitForBackground"/>), then removes the
    /// spare parts kept for reuse (<see cref="CheckpointStore.SpareFolder"/>), so the folder holds what
    /// <c>--checkpoint-keep</c> says. Call it once, before the result names the last checkpoint. Not
    /// collective; on the other ranks it returns at once.
    /// </summary>
    public void WaitForPruning()
    {
        WaitForBackground();
        WaitForLevels();
        RemoveLevelSpares();
        if (_coordinator.Rank == 0)
        {
            try
            {
                _store.RemoveSpare();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log($"checkpoints: could not remove the spare parts {_store.SpareFolder}: {ex.Message} (the next job's first checkpoint reuses or removes them)");
            }
        }
    }

    /// <summary>
    /// Waits until rank 0's background work after the newest checkpoint is done: its manifest, when the job
    /// went on after it (then <see cref="Last"/> and <see cref="Written"/> count it, if it succeeded), and the
    /// removal of old checkpoints. The next checkpoint, a restore and a resume call it first. Not collective;
    /// on the other ranks it returns at once.
    /// </summary>
    public void WaitForBackground()
    {
        if (_background is { } background)
        {
            _background = null;
            if (background.GetAwaiter().GetResult() is { } completed)
            {
                Last = completed;
                Written++;
            }
        }
    }

    /// <summary>Fields for result.txt: the last checkpoint and how to resume from it. Rank 0.</summary>
    public IEnumerable<(string Key, string Value)> ResultFields()
    {
        if (Last is null)
        {
            yield return ("checkpoint", "none");
            yield break;
        }

        yield return ("checkpoint", _store.FolderOf(Last.Id));
        if (_nodeLocal && SharedStore is not null)
        {
            yield return ("checkpoint_shared", SharedStore.FolderOf(Last.Id));
        }

        yield return ("checkpoint_iteration", Last.TotalIterations.ToString(CultureInfo.InvariantCulture));
        yield return ("resume", ResumeHint());
    }

    /// <summary>How to continue from this folder, for the log, the page and the result.</summary>
    public string ResumeHint() =>
        $"start the job again with --resume --checkpoint-dir {_store.Root} on {(_solver is IDistributedCheckpointable ? "any number of ranks" : FormattableString.Invariant($"{_coordinator.Size} rank(s)"))}";

    private string Describe(CheckpointManifest m) => FormattableString.Invariant(
        $"{CheckpointStore.NameOf(m.Id)} at iteration {m.Iteration} (total {m.TotalIterations}), {m.CreatedAt:yyyy-MM-dd HH:mm:ss}Z, {m.TotalBytes} bytes in {_store.FolderOf(m.Id)}. To resume: {ResumeHint()}");

    /// <summary>Why <paramref name="m"/> does not fit this job on this rank, or null when it does.</summary>
    private string? Misfit(CheckpointManifest m) => Misfit(m, _coordinator.Size, _key, ArraySignature(DeclaredArrays()));

    /// <summary>Why <paramref name="m"/> does not fit a job of <paramref name="ranks"/> ranks with key <paramref name="key"/>, or null when it does.</summary>
    /// <remarks>
    /// <paramref name="arrays"/> is the job's declared arrays (<see cref="ArraySignature"/>): null when it declares
    /// none, <see cref="AnyArrays"/> when it does but they are not known yet (the check before the start).
    /// A checkpoint with a layout loads on any rank count into a job that declares the same arrays.
    /// </remarks>
    internal static string? Misfit(CheckpointManifest m, int ranks, string key, string? arrays = null)
    {
        var name = CheckpointStore.NameOf(m.Id);
        var remappable = m.Layout is not null && arrays is not null;
        if (m.Ranks != ranks && !remappable)
        {
            return $"{name} was written by {m.Ranks} rank(s), this job has {ranks}: start it with {m.Ranks} ranks, or use another --checkpoint-dir";
        }

        if (!string.Equals(m.Key, key, StringComparison.Ordinal))
        {
            return m.Key.Length == 0
                ? $"{name} has no compatibility key (written by an older version): start without --resume, or use another --checkpoint-dir"
                : $"{name} was written for '{m.Key}', this job is '{key}': start it with the options that wrote the checkpoint, or use another --checkpoint-dir";
        }

        if (m.Layout is null && arrays is not null)
        {
            return $"{name} has no array layout (written before the solver declared its arrays): start without --resume, or use another --checkpoint-dir";
        }

        if (m.Layout is not null && arrays is null)
        {
            return $"{name} holds declared arrays, this solver declares none: use another --checkpoint-dir";
        }

        if (m.Layout is not null && arrays is not AnyArrays && !string.Equals(m.Layout.Signature, arrays, StringComparison.Ordinal))
        {
            return $"{name} holds arrays '{m.Layout.Signature}', this job declares '{arrays}': start it with the options that wrote the checkpoint, or use another --checkpoint-dir";
        }

        return null;
    }

    /// <summary>For <see cref="Misfit(CheckpointManifest, int, string, string?)"/>: the job declares arrays, not yet known which.</summary>
    internal const string AnyArrays = "*";

    /// <summary>The signature of <paramref name="arrays"/> as a layout states it, or null when there are none.</summary>
    internal static string? ArraySignature(IReadOnlyList<CheckpointArray>? arrays) =>
        arrays is null ? null : CheckpointLayout.SignatureOf(arrays.Select(a => a.Describe()));

    /// <summary>
    /// This rank's declared arrays, or null when the solver declares none (<see cref="IDistributedCheckpointable"/>;
    /// an empty list counts as none: such a checkpoint has no layout and keeps the rank count).
    /// </summary>
    private IReadOnlyList<CheckpointArray>? DeclaredArrays() =>
        (_solver as IDistributedCheckpointable)?.CheckpointArrays is { Count: > 0 } arrays ? arrays : null;

    /// <summary>This rank's part: its slice of every declared array, then the solver's free-form bytes.</summary>
    private void WriteState(Stream stream, IReadOnlyList<CheckpointArray>? arrays)
    {
        foreach (var array in arrays ?? [])
        {
            stream.Write(array.Bytes());
        }

        _solver.WriteCheckpoint(stream);
    }

    /// <summary>
    /// Collective when the solver declares arrays (every rank does alike): rank 0 gathers every rank's slice
    /// of each and returns the layout; the other ranks get null.
    /// </summary>
    private CheckpointLayout? GatherLayout(IReadOnlyList<CheckpointArray> arrays)
    {
        var mine = new double[2 * arrays.Count];
        for (var i = 0; i < arrays.Count; i++)
        {
            mine[2 * i] = arrays[i].Offset;
            mine[(2 * i) + 1] = arrays[i].Count;
        }

        var size = _coordinator.Size;
        var table = _coordinator.Rank == 0 ? new double[size * mine.Length] : [];
        _coordinator.Gather(mine, table);
        if (_coordinator.Rank != 0)
        {
            return null;
        }

        return new CheckpointLayout(arrays.Select((a, i) => new LayoutArray(
            a.Name,
            a.ElementType,
            a.GlobalShape,
            Enumerable.Range(0, size).Select(r => new LayoutSlice((long)table[(r * mine.Length) + (2 * i)], (long)table[(r * mine.Length) + (2 * i) + 1])).ToList())).ToList());
    }

    private bool KeyLikeRankZero => _keyLikeRankZero ?? true;

    /// <summary>The one line when the folder holds complete checkpoints but none fits the job.</summary>
    internal static string NothingFits(string root, int incompatible, int skipped, string? newestMisfit) =>
        $"no checkpoint in {root} fits this job ({incompatible} written for another{(skipped == 0 ? string.Empty : $", {skipped} incomplete or damaged")}); the newest: {newestMisfit}";

    /// <summary>
    /// Collective: finds the newest checkpoint that fits this job (key and rank count, checked on every rank)
    /// and whose manifest and every part verify, then lets every rank read its part. Damaged, incomplete and
    /// foreign ones are skipped with a log line and never handed to the solver. A solver that fails to read
    /// its verified part fails the job on every rank at once: its state may be half replaced, so neither
    /// going on nor trying an older checkpoint is safe.
    /// </summary>
    /// <param name="only">The one checkpoint to consider (<c>--resume=ckpt-…</c>, <c>RESTART checkpoint ckpt-…</c>); null for the newest that fits.</param>
    private (CheckpointManifest? Manifest, string Why) LoadNewest(long? only = null)
    {
        WaitForBackground();
        if (_twoLevels)
        {
            return LoadNewestTwoLevels(only);
        }

        var isRoot = _coordinator.Rank == 0;
        _keyLikeRankZero ??= ResumeCheck.SameKeyAsRankZero(_coordinator, _key);
        var candidates = isRoot ? new Queue<long>(_store.ListIds().Where(id => only is null || id == only)) : null;
        string? namedProblem = null;
        var skipped = 0;
        _incompatible = 0;
        string? firstMisfit = null;
        Span<double> mine = stackalloc double[1];
        while (true)
        {
            // Rank 0 chooses the candidate and hands its manifest to all: the others never list the folder.
            var text = isRoot ? NextManifestText(candidates!, ref skipped, ref namedProblem) : null;
            var bytes = text is null ? [] : Encoding.UTF8.GetBytes(text);
            var length = (int)BroadcastLong(bytes.Length);
            if (length == 0)
            {
                if (only is { } named)
                {
                    return (null, $"{CheckpointStore.NameOf(named)} {(isRoot ? namedProblem ?? (firstMisfit is null ? $"is not in {_store.Root}" : $"does not fit this job: {firstMisfit}") : "cannot be loaded (see rank 0's log)")}");
                }

                return (null, _incompatible > 0
                    ? NothingFits(_store.Root, _incompatible, skipped, firstMisfit)
                    : skipped == 0 ? $"no checkpoint in {_store.Root}" : $"no complete checkpoint in {_store.Root} ({skipped} skipped)");
            }

            if (!isRoot)
            {
                bytes = new byte[length];
            }

            _coordinator.Broadcast(bytes);
            var manifest = CheckpointManifest.Parse(Encoding.UTF8.GetString(bytes));
            var name = CheckpointStore.NameOf(manifest.Id);

            // This rank's verdict: fits and verifies, does not fit (nothing read), or fits but its part is bad.
            var misfit = Misfit(manifest);
            string? problem = null;

            // Opened once: the solver reads the very file that was verified, even if another job sharing the
            // folder replaces it in between.
            using var part = misfit is null ? PartSources.Open(_store, manifest, _coordinator.Rank, _coordinator.Size, DeclaredArrays(), out problem) : null;
            if (problem is not null)
            {
                _log($"checkpoint {name}: this rank's part is not usable: {problem}");
            }

            mine[0] = misfit is not null ? VerdictMisfit : problem is not null ? VerdictDamaged : VerdictUsable;
            var verdict = AgreeOnVerdict(mine, out var ranks);
            if (verdict == VerdictMisfit)
            {
                _incompatible++;
                misfit ??= $"{name}: rank(s) {ranks} have another compatibility key than rank 0 (see their log)";
                firstMisfit ??= misfit;
                if (isRoot)
                {
                    _log($"checkpoint {name} skipped, it does not fit this job: {misfit}");
                }
                else if (!KeyLikeRankZero && Misfit(manifest) is { } own)
                {
                    // Only a rank whose key differs from rank 0's has more to say than rank 0's line.
                    _log($"checkpoint {name} does not fit this rank: {own}");
                }

                continue;
            }

            if (verdict == VerdictDamaged)
            {
                skipped++;
                if (isRoot)
                {
                    _log($"checkpoint {name} skipped: part(s) of rank(s) {ranks} missing, truncated or altered (see those ranks' lines); trying an older one");
                }

                namedProblem = $"is damaged: part(s) of rank(s) {ranks} missing, truncated or altered";

                continue;
            }

            ReadVerified(part!.Load, name);
            return (manifest, string.Empty);
        }
    }

    /// <summary>
    /// Collective: hands this rank's verified part to the solver; when the solver fails on any rank the job ends
    /// on every rank alike (its state may be half replaced).
    /// </summary>
    /// <exception cref="InvalidDataException">The solver could not read a part on some rank.</exception>
    private void ReadVerified(Action<ICheckpointable> load, string name)
    {
        Span<double> mine = stackalloc double[1];
        string? loadError = null;
        try
        {
            load(_solver);
        }
        catch (Exception ex)
        {
            // Caught whatever it is: a rank that threw alone would leave the others waiting below.
            loadError = $"{ex.GetType().Name}: {ex.Message}";
            _log($"checkpoint {name}: the solver could not read this rank's part: {loadError}");
        }

        mine[0] = loadError is null ? VerdictUsable : VerdictDamaged;
        if (AgreeOnVerdict(mine, out var failedRanks) != VerdictUsable)
        {
            throw new InvalidDataException(
                $"checkpoint {name} in {_store.Root} passed its checks but the solver could not read it on rank(s) {failedRanks}{(loadError is null ? string.Empty : $" ({loadError})")}; the state is no longer consistent, so the job ends: resume from an older checkpoint or another --checkpoint-dir");
        }
    }

    /// <summary>
    /// Collective: rank 0 gathers every rank's verdict (one value each) and broadcasts the worst; on rank 0
    /// <paramref name="ranks"/> lists the ranks that have it (elsewhere "?"). Constant size except on rank 0.
    /// </summary>
    private long AgreeOnVerdict(ReadOnlySpan<double> mine, out string ranks)
    {
        var isRoot = _coordinator.Rank == 0;
        var table = isRoot ? _table.AsSpan(0, _coordinator.Size) : Span<double>.Empty;
        _coordinator.Gather(mine, table);
        long worst = VerdictUsable;
        ranks = "?";
        if (isRoot)
        {
            foreach (var v in table)
            {
                worst = Math.Max(worst, (long)v);
            }

            var list = new List<int>();
            for (var r = 0; r < table.Length; r++)
            {
                if ((long)table[r] == worst && worst != VerdictUsable)
                {
                    list.Add(r);
                }
            }

            ranks = string.Join(",", list);
        }

        var agreed = BroadcastLong(worst);
        return agreed;
    }

    /// <summary>Rank 0: the next candidate's manifest text, skipping (with a log line) those that are incomplete or damaged.</summary>
    private string? NextManifestText(Queue<long> candidates, ref int skipped, ref string? problemOfLast)
    {
        while (candidates.TryDequeue(out var id))
        {
            if (CheckpointInspection.ReadComplete(_store, id, out var problem) is { } manifest)
            {
                return manifest.Format();
            }

            _log($"checkpoint {CheckpointStore.NameOf(id)} skipped: {problem}");
            problemOfLast = $"cannot be loaded: {problem}";
            skipped++;
        }

        return null;
    }

    private long BroadcastLong(long value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
        _coordinator.Broadcast(buffer);
        return BinaryPrimitives.ReadInt64LittleEndian(buffer);
    }

    private static void Pack(CheckpointPart part, Span<double> slots)
    {
        slots[0] = 1;
        slots[1] = part.Length;
        var hash = Convert.FromHexString(part.Sha256);
        for (var i = 0; i < 8; i++)
        {
            slots[2 + i] = BinaryPrimitives.ReadUInt32BigEndian(hash.AsSpan(i * 4, 4));
        }
    }

    private List<CheckpointPart> Unpack(ReadOnlySpan<double> table)
    {
        var parts = new List<CheckpointPart>(_coordinator.Size);
        Span<byte> hash = stackalloc byte[32];
        for (var r = 0; r < _coordinator.Size; r++)
        {
            var slots = table.Slice(r * SlotsPerRank, SlotsPerRank);
            for (var i = 0; i < 8; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(hash.Slice(i * 4, 4), (uint)slots[2 + i]);
            }

            parts.Add(new CheckpointPart(r, CheckpointStore.PartName(r), (long)slots[1], Convert.ToHexStringLower(hash)));
        }

        return parts;
    }

    private List<int> FailedRanks(ReadOnlySpan<double> table)
    {
        var failed = new List<int>();
        for (var r = 0; r < _coordinator.Size; r++)
        {
            if (table[r * SlotsPerRank] != 1)
            {
                failed.Add(r);
            }
        }

        return failed;
    }
}
