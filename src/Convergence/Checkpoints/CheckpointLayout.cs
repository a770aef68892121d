using System.Globalization;
using System.Text;
using Convergence.Solver;

namespace Convergence.Checkpoints;

/// <summary>One rank's slice of a global array: the first element's index and the element count.</summary>
/// <param name="Offset">Index of the first element in the flattened global array.</param>
/// <param name="Count">Number of consecutive elements.</param>
public readonly record struct LayoutSlice(long Offset, long Count);

/// <summary>One declared global array of a checkpoint and every writing rank's slice of it.</summary>
/// <param name="Name">The array's name.</param>
/// <param name="ElementType">Its element type.</param>
/// <param name="Shape">Its global shape.</param>
/// <param name="Slices">Every writing rank's slice, in rank order.</param>
public sealed record LayoutArray(string Name, CheckpointElementType ElementType, IReadOnlyList<long> Shape, IReadOnlyList<LayoutSlice> Slices)
{
    /// <summary>Bytes per element.</summary>
    public int ElementSize => CheckpointArray.ElementSize(ElementType);

    /// <summary>Name, type and global shape, as <see cref="CheckpointArray.Describe()"/> says them.</summary>
    public string Describe() => CheckpointArray.Describe(Name, ElementType, Shape);
}

/// <summary>
/// How the declared global arrays (<see cref="IDistributedCheckpointable"/>) of a checkpoint are split over
/// the parts, as the manifest records it. Each part holds its rank's slice of every array, in declaration
/// order, as raw little-endian elements, then the solver's free-form bytes.
/// </summary>
/// <remarks>
/// In the manifest: one <c>layout.array=NAME TYPE D1xD2…</c> line per array, then one
/// <c>layout.slice=NAME RANK OFFSET COUNT</c> line per array and writing rank.
/// </remarks>
public sealed record CheckpointLayout(IReadOnlyList<LayoutArray> Arrays)
{
    /// <summary>The prefix of every manifest key this layout writes.</summary>
    public const string KeyPrefix = "layout.";

    /// <summary>The arrays' names, types and shapes, one per line (what a loading job must declare alike).</summary>
    public string Signature => SignatureOf(Arrays.Select(a => a.Describe()));

    /// <summary>The signature of a job's declaration, comparable to <see cref="Signature"/>.</summary>
    public static string SignatureOf(IEnumerable<string> described) => string.Join("; ", described);

    /// <summary>Where array <paramref name="array"/> starts in <paramref name="rank"/>'s part, in bytes.</summary>
    public long ArrayStart(int rank, int array)
    {
        var start = 0L;
        for (var i = 0; i < array; i++)
        {
            start += Arrays[i].Slices[rank].Count * Arrays[i].ElementSize;
        }

        return start;
    }

    /// <summary>Where the free-form bytes start in <paramref name="rank"/>'s part.</summary>
    public long FreeFormStart(int rank) => ArrayStart(rank, Arrays.Count);

    /// <summary>
    /// The old ranks whose slice of array <paramref name="array"/> overlaps elements
    /// [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>), with the overlap.
    /// </summary>
    public IEnumerable<(int Rank, long From, long To)> Overlaps(int array, long offset, long count)
    {
        var slices = Arrays[array].Slices;
        for (var r = 0; r < slices.Count; r++)
        {
            var from = Math.Max(offset, slices[r].Offset);
            var to = Math.Min(offset + count, slices[r].Offset + slices[r].Count);
            if (from < to)
            {
                yield return (r, from, to);
            }
        }
    }

    /// <summary>Why the slices do not tile every array exactly once, or null when they do.</summary>
    public string? Gap()
    {
        foreach (var a in Arrays)
        {
            var length = a.Shape.Aggregate(1L, (p, d) => p * d);
            var next = 0L;
            foreach (var s in a.Slices.Where(s => s.Count > 0).OrderBy(s => s.Offset))
            {
                if (s.Offset != next)
                {
                    return FormattableString.Invariant($"array {a.Name}: the ranks' slices {(s.Offset > next ? "leave out" : "overlap at")} element {Math.Min(s.Offset, next)}");
                }

                next = s.Offset + s.Count;
            }

            if (next != length)
            {
                return FormattableString.Invariant($"array {a.Name}: the ranks' slices cover {next} of {length} elements");
            }
        }

        return null;
    }

    /// <summary>Appends the manifest lines.</summary>
    internal void Format(StringBuilder sb)
    {
        foreach (var a in Arrays)
        {
            sb.Append(KeyPrefix).Append("array=").Append(a.Describe()).Append('\n');
        }

        foreach (var a in Arrays)
        {
            for (var r = 0; r < a.Slices.Count; r++)
            {
                sb.Append(KeyPrefix).Append("slice=")
                    .Append(FormattableString.Invariant($"{a.Name} {r} {a.Slices[r].Offset} {a.Slices[r].Count}")).Append('\n');
            }
        }
    }

    /// <summary>Parses the <c>layout.</c> lines of a manifest of <paramref name="ranks"/> parts; null when there are none.</summary>
    /// <exception cref="InvalidDataException">A line is malformed or a slice is missing.</exception>
    internal static CheckpointLayout? Parse(IReadOnlyList<(string Key, string Value)> lines, int ranks)
    {
        if (lines.Count == 0)
        {
            return null;
        }

        var arrays = new List<(string Name, CheckpointElementType Type, long[] Shape, LayoutSlice?[] Slices)>();
        foreach (var (key, value) in lines)
        {
            var f = value.Split(' ');
            if (key == KeyPrefix + "array" && f.Length == 3 && TypeOf(f[1]) is { } type && ShapeOf(f[2]) is { } shape && ranks >= 1)
            {
                arrays.Add((f[0], type, shape, new LayoutSlice?[ranks]));
            }
            else if (key == KeyPrefix + "slice" && f.Length == 4
                && arrays.FindIndex(a => a.Name == f[0]) is var index and >= 0
                && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var rank) && rank < ranks
                && long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
                && long.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                arrays[index].Slices[rank] = new LayoutSlice(offset, count);
            }
            else
            {
                throw new InvalidDataException($"manifest layout line '{key}={value}' is malformed");
            }
        }

        return new CheckpointLayout(arrays.Select(a => new LayoutArray(
            a.Name,
            a.Type,
            a.Shape,
            a.Slices.Select((s, r) => s ?? throw new InvalidDataException($"manifest layout has no slice of array {a.Name} for rank {r}")).ToList())).ToList());
    }

    private static CheckpointElementType? TypeOf(string name) => name switch
    {
        "double" => CheckpointElementType.Doubles,
        "int32" => CheckpointElementType.Ints,
        "int64" => CheckpointElementType.Longs,
        _ => null,
    };

    private static long[]? ShapeOf(string text)
    {
        var dims = text.Split('x');
        var shape = new long[dims.Length];
        for (var i = 0; i < dims.Length; i++)
        {
            if (!long.TryParse(dims[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || shape[i] < 1)
            {
                return null;
            }
        }

        return shape;
    }
}
