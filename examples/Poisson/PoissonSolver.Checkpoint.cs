using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Convergence.Solver;

namespace Convergence.Examples.Poisson;

/// <summary>
/// Checkpoints for the Poisson example: each rank writes its own block of the field (ghost rows included)
/// after a small header that says which block it is, so a part can never be read into the wrong grid.
/// </summary>
/// <remarks>
/// The field is all the state an iteration depends on: Jacobi's partner array is fully overwritten before
/// it is read, and red-black SOR works in place. So a rank restored from a part continues bit for bit as the
/// uninterrupted run would.
/// </remarks>
public sealed partial class PoissonSolver : ICheckpointable
{
    private const int CheckpointMagic = 0x50534E31; // "PSN1"
    private const int HeaderBytes = 4 + 4 + 4 + 4 + 4 + 8 + 8;

    /// <inheritdoc />
    /// <remarks>
    /// The grid and the part format decide whether a part can be read; the method does not (the field is
    /// valid for Jacobi and SOR alike), and the rank count is compared by the framework.
    /// </remarks>
    public string CompatibilityKey => FormattableString.Invariant($"poisson-2d grid={_n}x{_n} part=PSN1");

    /// <inheritdoc />
    public void WriteCheckpoint(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteInt32LittleEndian(header, CheckpointMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], _n);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], _row0);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], _rows);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], _options.Sor ? 1 : 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[20..], _sweeps);
        BinaryPrimitives.WriteInt64LittleEndian(header[28..], _u.Length);
        stream.Write(header);

        // Raw doubles in the machine's byte order; the header's magic would not match on a big-endian reader.
        stream.Write(MemoryMarshal.AsBytes(_u.AsSpan()));
    }

    /// <inheritdoc />
    public void ReadCheckpoint(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        stream.ReadExactly(header);
        var magic = BinaryPrimitives.ReadInt32LittleEndian(header);
        var n = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        var row0 = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        var rows = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        var sor = BinaryPrimitives.ReadInt32LittleEndian(header[16..]) == 1;
        var sweeps = BinaryPrimitives.ReadInt64LittleEndian(header[20..]);
        var length = BinaryPrimitives.ReadInt64LittleEndian(header[28..]);
        if (magic != CheckpointMagic || !BitConverter.IsLittleEndian)
        {
            throw new InvalidDataException("this checkpoint part was not written by the Poisson example on this kind of machine");
        }

        if (n != _n || row0 != _row0 || rows != _rows || length != _u.Length)
        {
            throw new InvalidDataException(
                $"the checkpoint holds rows {row0}..{row0 + rows - 1} of a {n}x{n} grid, this rank has rows {_row0}..{_row0 + _rows - 1} of {_n}x{_n}: resume with the same --n and rank count");
        }

        if (sor != _options.Sor)
        {
            // The field is valid for either method; the run just will not match an uninterrupted one.
            Console.Error.WriteLine($"poisson: rank {_rank}: checkpoint written with --method {(sor ? "sor" : "jacobi")}, continuing with {(_options.Sor ? "sor" : "jacobi")}");
        }

        stream.ReadExactly(MemoryMarshal.AsBytes(_u.AsSpan()));
        _sweeps = sweeps;
    }
}
