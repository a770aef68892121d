using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Convergence.Control;
using Convergence.Solver;
using Convergence.Status;

namespace Convergence.Checkpoints;

/// <summary>
/// Writes, verifies and restores checkpoints collectively: every rank writes its own part, one reduction
/// confirms that all parts are on disk (with their sizes and checksums), and only then does rank 0 write
/// the manifest that makes the checkpoint complete.
/// </summary>
/// <remarks>
/// Every public method except <see cref="ResultFields"/> is collective: all ranks call it at the same
/// iteration, on the loop's thread. Disk errors never split the ranks: a rank that fails to write or
/// verify its part says so in the same reduction, and every rank then takes the same decision (the
/// checkpoint is abandoned, or an older one is tried).
/// </remarks>
public sealed class CheckpointManager
{
    // Per rank in the confirmation reduction: ok flag, length, and the SHA-256 as eight 32-bit words
    // (doubles hold them exactly, and a sum with zeros from the other ranks leaves them unchanged).
    private const int SlotsPerRank = 10;

    private readonly CheckpointStore _store;
    private readonly ICheckpointable _solver;
    private readonly ICoordinator _coordinator;
    private readonly string _job;
    private readonly string _solverName;
    private readonly int _keep;
    private readonly Action<string> _log;
    private readonly LiveStatus? _live;
    private readonly double[] _table;
    private long _nextId;

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
        _table = new double[coordinator.Size * SlotsPerRank];
    }

    /// <summary>The checkpoint folder.</summary>
    public CheckpointStore Store => _store;

    /// <summary>The newest complete checkpoint this job wrote or resumed from; null if none.</summary>
    public CheckpointManifest? Last { get; private set; }

    /// <summary>Checkpoints completed by this job.</summary>
    public int Written { get; private set; }

    /// <summary>Collective: agrees on the next checkpoint number (after every folder already there) and reports what the folder holds.</summary>
    public void Initialize()
    {
        long next = 1;
        if (_coordinator.Rank == 0)
        {
            var ids = _store.ListIds();
            next = ids.Count == 0 ? 1 : ids[0] + 1;
            var complete = ids.Count(_store.HasManifest);
            _log(complete == 0
                ? $"checkpoints: folder {_store.Root} (empty), keep {_keep}"
                : $"checkpoints: folder {_store.Root} holds {complete} checkpoint(s), newest {CheckpointStore.NameOf(ids.First(_store.HasManifest))}; new ones start at {CheckpointStore.NameOf(next)}, keep {_keep}");
        }

        _nextId = BroadcastLong(next);
    }

    /// <summary>
    /// Collective: writes a checkpoint of <paramref name="state"/> and this rank's solver. Returns a one-line
    /// note (complete, or why not); a failed write leaves the previous checkpoint as the newest complete one.
    /// </summary>
    public string Write(ControlLoopState state, string reason)
    {
        var started = Stopwatch.GetTimestamp();
        var id = _nextId++;
        var rank = _coordinator.Rank;
        CheckpointPart? part = null;
        string? error = null;
        try
        {
            part = _store.WritePart(id, rank, _solver.WriteCheckpoint);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
            _log($"checkpoint {CheckpointStore.NameOf(id)}: could not write this rank's part: {ex.Message}");
        }

        // The confirmation: after this reduction every rank knows that every part is on disk (or which is not).
        var table = _table.AsSpan();
        table.Clear();
        if (part is not null)
        {
            Pack(part, table.Slice(rank * SlotsPerRank, SlotsPerRank));
        }

        _coordinator.AllreduceSum(table);
        var failed = FailedRanks(table);
        var name = CheckpointStore.NameOf(id);
        if (failed.Count > 0)
        {
            var note = $"checkpoint {name} not complete: rank(s) {string.Join(",", failed)} could not write their part{(error is null ? string.Empty : $" ({error})")}; {(Last is null ? "no earlier checkpoint" : $"{CheckpointStore.NameOf(Last.Id)} stays the newest")}";
            if (rank == 0)
            {
                _log(note);
            }

            return note;
        }

        var manifest = new CheckpointManifest
        {
            Id = id,
            Job = _job,
            Solver = _solverName,
            Ranks = _coordinator.Size,
            Iteration = state.Iteration,
            TotalIterations = state.TotalIterations,
            Tolerance = state.Tolerance,
            Residual = state.Residual,
            Restarts = state.Restarts,
            Reason = reason,
            CreatedAt = DateTimeOffset.UtcNow,
            Parts = Unpack(table),
        };
        if (rank != 0)
        {
            // Rank 0 alone completes it; the others go on at once (a crash now leaves it incomplete, never wrong).
            Last = manifest;
            Written++;
            return $"checkpoint {name} parts written";
        }

        try
        {
            _store.WriteManifest(manifest);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var note = $"checkpoint {name} not complete: manifest not written ({ex.Message})";
            _log(note);
            return note;
        }

        Last = manifest;
        Written++;
        var removed = _store.Prune(_keep, id);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var done = FormattableString.Invariant(
            $"checkpoint {name} complete ({reason}): iteration {state.Iteration} total {state.TotalIterations}, {manifest.Ranks} parts, {manifest.TotalBytes} bytes, {elapsed.TotalMilliseconds:0.#} ms");
        _log($"{done}{(removed.Count > 0 ? $"; removed {string.Join(",", removed)}" : string.Empty)}");
        _live?.RecordCheckpoint(Describe(manifest));
        return done;
    }

    /// <summary>
    /// Collective: <c>RESTART checkpoint</c>. Rolls every rank back to the newest complete checkpoint that
    /// verifies; the iteration count since the last restart and the residual come from it, the total count
    /// keeps running and the tolerance in force stays (a command the user gave since is not undone).
    /// </summary>
    public (bool Restored, string Note) Restore(ControlLoopState state)
    {
        var (manifest, why) = LoadNewest();
        if (manifest is null)
        {
            return (false, why);
        }

        if (manifest.Ranks != _coordinator.Size)
        {
            return (false, RankMismatch(manifest));
        }

        state.Restarts++;
        state.Iteration = manifest.Iteration;
        state.Residual = manifest.Residual;
        var note = $"rolled back to {CheckpointStore.NameOf(manifest.Id)} (iteration {manifest.Iteration}, written at total {manifest.TotalIterations})";
        if (_coordinator.Rank == 0)
        {
            _log(note);
        }

        return (true, note);
    }

    /// <summary>
    /// Collective: <c>--resume</c> at start. Restores counters, tolerance, residual and restarts from the
    /// newest complete checkpoint that verifies, or leaves the fresh state when there is none.
    /// </summary>
    /// <exception cref="OptionsException">The checkpoint was written by a different number of ranks (on every rank alike).</exception>
    public string Resume(ControlLoopState state)
    {
        var (manifest, why) = LoadNewest();
        if (manifest is null)
        {
            var fresh = $"resume: {why}; starting from the initial state";
            if (_coordinator.Rank == 0)
            {
                _log(fresh);
            }

            return fresh;
        }

        if (manifest.Ranks != _coordinator.Size)
        {
            throw new OptionsException(RankMismatch(manifest));
        }

        state.Iteration = manifest.Iteration;
        state.TotalIterations = manifest.TotalIterations;
        state.Restarts = manifest.Restarts;
        state.Residual = manifest.Residual;
        var note = FormattableString.Invariant($"resumed from {CheckpointStore.NameOf(manifest.Id)} at iteration {manifest.Iteration} (total {manifest.TotalIterations}), residual {manifest.Residual:G6}");
        if (_coordinator.Rank == 0)
        {
            if (manifest.Tolerance != state.Tolerance)
            {
                _log(FormattableString.Invariant($"resume: tolerance {manifest.Tolerance:G6} from the checkpoint replaces {state.Tolerance:G6} (send CHANGE_TOLERANCE to change it)"));
            }

            _log(note);
            _live?.RecordCheckpoint($"resumed from {Describe(manifest)}");
        }

        state.Tolerance = manifest.Tolerance;
        Last = manifest;
        return note;
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
        yield return ("checkpoint_iteration", Last.TotalIterations.ToString(CultureInfo.InvariantCulture));
        yield return ("resume", ResumeHint());
    }

    /// <summary>How to continue from this folder, for the log, the page and the result.</summary>
    public string ResumeHint() =>
        $"start the job again with --resume --checkpoint-dir {_store.Root} on {_coordinator.Size} rank(s)";

    private string Describe(CheckpointManifest m) => FormattableString.Invariant(
        $"{CheckpointStore.NameOf(m.Id)} at iteration {m.Iteration} (total {m.TotalIterations}), {m.CreatedAt:yyyy-MM-dd HH:mm:ss}Z, {m.TotalBytes} bytes in {_store.FolderOf(m.Id)}. To resume: {ResumeHint()}");

    private string RankMismatch(CheckpointManifest m) =>
        $"checkpoint {CheckpointStore.NameOf(m.Id)} in {_store.Root} was written by {m.Ranks} rank(s), this job has {_coordinator.Size}: start it with {m.Ranks} ranks, or use another --checkpoint-dir";

    /// <summary>
    /// Collective: finds the newest checkpoint whose manifest and every part verify, then lets every rank read
    /// its part. Damaged or incomplete ones are skipped with a log line and never handed to the solver.
    /// </summary>
    private (CheckpointManifest? Manifest, string Why) LoadNewest()
    {
        var isRoot = _coordinator.Rank == 0;
        var candidates = isRoot ? new Queue<long>(_store.ListIds()) : null;
        var skipped = 0;
        while (true)
        {
            // Rank 0 chooses the candidate and hands its manifest to all: the others never list the folder.
            var text = isRoot ? NextManifestText(candidates!, ref skipped) : null;
            var bytes = text is null ? [] : Encoding.UTF8.GetBytes(text);
            var length = (int)BroadcastLong(bytes.Length);
            if (length == 0)
            {
                return (null, skipped == 0 ? $"no checkpoint in {_store.Root}" : $"no complete checkpoint in {_store.Root} ({skipped} skipped)");
            }

            if (!isRoot)
            {
                bytes = new byte[length];
            }

            _coordinator.Broadcast(bytes);
            var manifest = CheckpointManifest.Parse(Encoding.UTF8.GetString(bytes));
            if (manifest.Ranks != _coordinator.Size)
            {
                return (manifest, string.Empty);
            }

            var problem = _store.VerifyPart(manifest.Id, manifest.Parts[_coordinator.Rank]);
            if (problem is not null)
            {
                _log($"checkpoint {CheckpointStore.NameOf(manifest.Id)}: this rank's part is not usable: {problem}");
            }

            var table = _table.AsSpan(0, _coordinator.Size);
            table.Clear();
            table[_coordinator.Rank] = problem is null ? 0 : 1;
            _coordinator.AllreduceSum(table);
            var bad = new List<int>();
            for (var r = 0; r < table.Length; r++)
            {
                if (table[r] > 0)
                {
                    bad.Add(r);
                }
            }

            if (bad.Count > 0)
            {
                skipped++;
                if (isRoot)
                {
                    _log($"checkpoint {CheckpointStore.NameOf(manifest.Id)} skipped: part(s) of rank(s) {string.Join(",", bad)} missing, truncated or altered (see those ranks' lines); trying an older one");
                }

                continue;
            }

            using (var stream = _store.OpenPart(manifest.Id, manifest.Parts[_coordinator.Rank]))
            {
                _solver.ReadCheckpoint(stream);
            }

            return (manifest, string.Empty);
        }
    }

    /// <summary>Rank 0: the next candidate's manifest text, skipping (with a log line) those that are incomplete or damaged.</summary>
    private string? NextManifestText(Queue<long> candidates, ref int skipped)
    {
        while (candidates.TryDequeue(out var id))
        {
            if (!_store.HasManifest(id))
            {
                _log($"checkpoint {CheckpointStore.NameOf(id)} skipped: incomplete (no manifest; interrupted while being written)");
                skipped++;
                continue;
            }

            try
            {
                return _store.ReadManifest(id).Format();
            }
            catch (InvalidDataException ex)
            {
                _log($"checkpoint {CheckpointStore.NameOf(id)} skipped: {ex.Message}");
                skipped++;
            }
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
