using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Convergence.Solver;

namespace HeatSolver;

/// <summary>
/// Checkpoints: everything about checkpoints is in this file. The framework owns the files (naming, flush,
/// rename, checksums, manifest) and its own counters; the solver writes and reads its block of the field.
/// </summary>
/// <remarks>
/// Enabled by CHECKPOINT, --checkpoint-every, STOP, SIGTERM or a deadline; read back by RESTART checkpoint
/// and by a new job started with --resume (same --n and rank count). The field and the heat source are all
/// the state a sweep depends on, so a restored rank continues exactly as the uninterrupted run would.
/// </remarks>
internal sealed partial class HeatEquation : ICheckpointable
{
    private const int Magic = 0x48454154; // marks a part of this solver (four ASCII letters)
    private const int HeaderBytes = 4 + 4 + 4 + 4 + 8 + 8;

    /// <summary>What a checkpoint must match to be read by this job: the grid and the part format.</summary>
    /// <remarks>
    /// Compared on every rank before any rank loads (the framework compares the rank count itself): a
    /// checkpoint of another grid is declined by RESTART checkpoint and refused by --resume with exit code 2.
    /// Change the format tag when the part's layout changes.
    /// </remarks>
    public string CompatibilityKey => FormattableString.Invariant($"heat-2d grid={_n}x{_n} part=HEAT1");

    /// <inheritdoc />
    public void WriteCheckpoint(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], _n);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], _row0);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], _rows);
        BinaryPrimitives.WriteDoubleLittleEndian(header[16..], _source);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], _sweeps);
        stream.Write(header);
        stream.Write(MemoryMarshal.AsBytes(_u.AsSpan()));
    }

    /// <inheritdoc />
    public void ReadCheckpoint(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[HeaderBytes];
        stream.ReadExactly(header);
        var magic = BinaryPrimitives.ReadInt32LittleEndian(header);
        var n = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        var row0 = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        var rows = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        if (magic != Magic || !BitConverter.IsLittleEndian)
        {
            throw new InvalidDataException("this checkpoint part was not written by this solver on this kind of machine");
        }

        if (n != _n || row0 != _row0 || rows != _rows)
        {
            throw new InvalidDataException(
                $"the checkpoint holds rows {row0}..{row0 + rows - 1} of a {n}x{n} grid, this rank has rows {_row0}..{_row0 + _rows - 1} of {_n}x{_n}: resume with the same --n and rank count");
        }

        _source = BinaryPrimitives.ReadDoubleLittleEndian(header[16..]);
        _sweeps = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        stream.ReadExactly(MemoryMarshal.AsBytes(_u.AsSpan()));
        UpdateScale();
    }
}
