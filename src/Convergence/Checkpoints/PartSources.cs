using Convergence.Solver;

namespace Convergence.Checkpoints;

/// <summary>
/// The parts one rank reads to load a checkpoint, each opened once and verified (size and SHA-256) through
/// the descriptor it is then read from: its own part on the same rank count without a layout; with a layout
/// (<see cref="IDistributedCheckpointable"/>), every part holding some of this rank's new slices and the part
/// whose free-form bytes it takes (its own on the same rank count, rank 0's otherwise).
/// </summary>
/// <remarks>
/// A part several new ranks read is verified by each of them (each reads it whole once to hash it): the check
/// and the read share one descriptor, so no rank trusts bytes another rank checked. On M ranks loading N parts
/// of a block-split array that is about N + M part reads in all, spread over the ranks.
/// </remarks>
internal sealed class PartSources : IDisposable
{
    private readonly Dictionary<int, Stream> _streams;
    private readonly CheckpointManifest _manifest;
    private readonly IReadOnlyList<CheckpointArray>? _arrays;
    private readonly int _freeFormRank;

    private PartSources(CheckpointManifest manifest, IReadOnlyList<CheckpointArray>? arrays, int freeFormRank, Dictionary<int, Stream> streams)
    {
        _manifest = manifest;
        _arrays = arrays;
        _freeFormRank = freeFormRank;
        _streams = streams;
    }

    /// <summary>The old ranks whose parts this rank reads, ascending.</summary>
    public IEnumerable<int> Ranks => _streams.Keys.Order();

    /// <summary>
    /// Opens and verifies what <paramref name="rank"/> of <paramref name="size"/> needs of <paramref name="manifest"/>
    /// (which fits the job: see <see cref="CheckpointManager.Misfit(CheckpointManifest, int, string, string?)"/>).
    /// Null, with <paramref name="problem"/> saying why, when a part is missing, damaged or does not hold this
    /// rank's slices.
    /// </summary>
    public static PartSources? Open(CheckpointStore store, CheckpointManifest manifest, int rank, int size, IReadOnlyList<CheckpointArray>? arrays, out string? problem)
    {
        var layout = manifest.Layout;
        var freeFormRank = layout is null || manifest.Ranks == size ? rank : 0;
        var needed = new SortedSet<int> { freeFormRank };
        if (layout is not null && arrays is not null)
        {
            for (var i = 0; i < arrays.Count; i++)
            {
                needed.UnionWith(layout.Overlaps(i, arrays[i].Offset, arrays[i].Count).Select(o => o.Rank));
            }
        }

        PartSources? sources = new(manifest, arrays, freeFormRank, []);
        try
        {
            foreach (var r in needed)
            {
                Stream? stream = null;
                try
                {
                    stream = store.OpenVerifiedPart(manifest.Id, manifest.Parts[r], out problem);
                    if (stream is null)
                    {
                        return null;
                    }

                    sources._streams[r] = stream;
                    stream = null;
                }
                finally
                {
                    stream?.Dispose();
                }
            }

            problem = null;
            var opened = sources;
            sources = null;
            return opened;
        }
        finally
        {
            sources?.Dispose();
        }
    }

    /// <summary>
    /// Wraps this rank's own part of a checkpoint written on the same rank count, already opened and verified
    /// (a two-level checkpoint's part, from this node's folder or the shared level). Null, with
    /// <paramref name="problem"/> saying why, when some of this rank's slices lie in other ranks' parts.
    /// </summary>
    public static PartSources? OwnOnly(CheckpointManifest manifest, int rank, IReadOnlyList<CheckpointArray>? arrays, Stream part, out string? problem)
    {
        if (manifest.Layout is { } layout && arrays is not null)
        {
            for (var i = 0; i < arrays.Count; i++)
            {
                if (layout.Overlaps(i, arrays[i].Offset, arrays[i].Count).Any(o => o.Rank != rank))
                {
                    problem = $"array {arrays[i].Name}: this rank's slice lies partly in other ranks' parts, which a two-level load does not read";
                    return null;
                }
            }
        }

        problem = null;
        return new PartSources(manifest, arrays, rank, new Dictionary<int, Stream> { [rank] = part });
    }

    /// <summary>
    /// Fills this rank's declared arrays from the parts that hold them, then hands the free-form bytes to
    /// <paramref name="solver"/>'s <see cref="ICheckpointable.ReadCheckpoint"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The layout does not cover this rank's slice.</exception>
    public void Load(ICheckpointable solver)
    {
        var layout = _manifest.Layout;
        var free = _streams[_freeFormRank];
        if (layout is null || _arrays is null)
        {
            solver.ReadCheckpoint(free);
            return;
        }

        for (var i = 0; i < _arrays.Count; i++)
        {
            var array = _arrays[i];
            var size = layout.Arrays[i].ElementSize;
            var target = array.Bytes();
            var covered = 0L;
            foreach (var (rank, from, to) in layout.Overlaps(i, array.Offset, array.Count))
            {
                var source = _streams[rank];
                source.Position = layout.ArrayStart(rank, i) + ((from - layout.Arrays[i].Slices[rank].Offset) * size);
                source.ReadExactly(target.Slice(checked((int)((from - array.Offset) * size)), checked((int)((to - from) * size))));
                covered += to - from;
            }

            if (covered != array.Count)
            {
                throw new InvalidDataException(FormattableString.Invariant(
                    $"array {array.Name}: the checkpoint holds {covered} of this rank's {array.Count} elements from {array.Offset}"));
            }
        }

        free.Position = layout.FreeFormStart(_freeFormRank);
        solver.ReadCheckpoint(free);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var stream in _streams.Values)
        {
            stream.Dispose();
        }
    }
}
