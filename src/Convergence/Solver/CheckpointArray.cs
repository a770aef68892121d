using System.Globalization;
using System.Runtime.InteropServices;

namespace Convergence.Solver;

/// <summary>The element type of a <see cref="CheckpointArray"/>, as the manifest names it.</summary>
public enum CheckpointElementType
{
    /// <summary>64-bit IEEE floating point (<c>double</c> in the manifest).</summary>
    Doubles,

    /// <summary>32-bit signed integer (<c>int32</c>).</summary>
    Ints,

    /// <summary>64-bit signed integer (<c>int64</c>).</summary>
    Longs,
}

/// <summary>
/// One global array of a distributed solver's state and this rank's share of it, declared through
/// <see cref="IDistributedCheckpointable.CheckpointArrays"/>: the global shape, and the contiguous run of
/// elements (in row-major order of the global shape) this rank holds, with the memory that holds them.
/// </summary>
/// <remarks>
/// The framework writes the slice into this rank's part and the layout (every rank's offset and count) into
/// the manifest, so a job on another rank count can read each rank's new slice from whichever parts hold it.
/// The ranks' slices must not overlap and must cover the whole array. The memory is read when a checkpoint is
/// written and written when one is loaded, on the loop's thread; declare it again each time it is asked for
/// if the solver swaps buffers.
/// </remarks>
public abstract class CheckpointArray
{
    private protected CheckpointArray(string name, CheckpointElementType elementType, IReadOnlyList<long> globalShape, long offset, long count)
    {
        if (string.IsNullOrEmpty(name) || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ArgumentException($"checkpoint array name '{name}' must be one word (no spaces)", nameof(name));
        }

        ArgumentNullException.ThrowIfNull(globalShape);
        if (globalShape.Count == 0 || globalShape.Any(d => d < 1))
        {
            throw new ArgumentException($"checkpoint array '{name}': every dimension of the global shape must be at least 1", nameof(globalShape));
        }

        var length = 1L;
        foreach (var d in globalShape)
        {
            length = checked(length * d);
        }

        if (offset < 0 || count < 0 || offset > length - count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(offset),
                FormattableString.Invariant($"checkpoint array '{name}': elements {offset}..{offset + count - 1} are outside the global array of {length}"));
        }

        Name = name;
        ElementType = elementType;
        GlobalShape = [.. globalShape];
        Offset = offset;
        Count = count;
        GlobalLength = length;
    }

    /// <summary>The array's name, one word, the same on every rank.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public CheckpointElementType ElementType { get; }

    /// <summary>The global shape (row-major), the same on every rank.</summary>
    public IReadOnlyList<long> GlobalShape { get; }

    /// <summary>The index of this rank's first element in the flattened global array.</summary>
    public long Offset { get; }

    /// <summary>How many consecutive elements this rank holds.</summary>
    public long Count { get; }

    /// <summary>The number of elements of the whole array.</summary>
    public long GlobalLength { get; }

    /// <summary>
    /// Declares <paramref name="slice"/> as elements <paramref name="offset"/> onwards of the global array
    /// <paramref name="name"/> of shape <paramref name="globalShape"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one word, a dimension is below 1, or the slice lies outside the array.</exception>
    public static CheckpointArray Of(string name, IReadOnlyList<long> globalShape, long offset, Memory<double> slice) =>
        new Typed<double>(name, CheckpointElementType.Doubles, globalShape, offset, slice);

    /// <inheritdoc cref="Of(string, IReadOnlyList{long}, long, Memory{double})"/>
    public static CheckpointArray Of(string name, IReadOnlyList<long> globalShape, long offset, Memory<int> slice) =>
        new Typed<int>(name, CheckpointElementType.Ints, globalShape, offset, slice);

    /// <inheritdoc cref="Of(string, IReadOnlyList{long}, long, Memory{double})"/>
    public static CheckpointArray Of(string name, IReadOnlyList<long> globalShape, long offset, Memory<long> slice) =>
        new Typed<long>(name, CheckpointElementType.Longs, globalShape, offset, slice);

    /// <summary>The size of one element of <paramref name="type"/> in bytes.</summary>
    public static int ElementSize(CheckpointElementType type) => type switch
    {
        CheckpointElementType.Ints => 4,
        _ => 8,
    };

    /// <summary>The manifest's name for <paramref name="type"/>.</summary>
    public static string TypeName(CheckpointElementType type) => type switch
    {
        CheckpointElementType.Doubles => "double",
        CheckpointElementType.Ints => "int32",
        CheckpointElementType.Longs => "int64",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>The array as the manifest describes it, without the slice: name, type and global shape (e.g. <c>u double 64x66</c>).</summary>
    public string Describe() => Describe(Name, ElementType, GlobalShape);

    /// <summary>See <see cref="Describe()"/>.</summary>
    internal static string Describe(string name, CheckpointElementType type, IReadOnlyList<long> shape) =>
        $"{name} {TypeName(type)} {string.Join('x', shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}";

    /// <summary>This rank's elements as bytes (machine byte order).</summary>
    internal abstract Span<byte> Bytes();

    private sealed class Typed<T>(string name, CheckpointElementType type, IReadOnlyList<long> shape, long offset, Memory<T> slice)
        : CheckpointArray(name, type, shape, offset, slice.Length)
        where T : unmanaged
    {
        internal override Span<byte> Bytes() => MemoryMarshal.AsBytes(slice.Span);
    }
}
