using System.Buffers.Binary;
using Convergence.Solver;

namespace HeatSolver;

/// <summary>
/// Checkpoints: everything about checkpoints is in this file. The framework owns the files (naming, flush,
/// rename, checksums, manifest) and its own counters; the solver declares its field as a global array and
/// writes and reads a small header of its own.
/// </summary>
/// <remarks>
/// Enabled by CHECKPOINT, --checkpoint-every, STOP, SIGTERM or a deadline; read back by RESTART checkpoint
/// and by a new job started with --resume (same --n, any rank count: each rank reads its rows of the declared
/// field from whichever parts hold them). The field and the heat source are all the state a sweep depends on,
/// and the ghost rows are exchanged before every sweep, so a restored run continues as the uninterrupted run
/// would.
/// </remarks>
internal sealed partial class HeatEquation : IDistributedCheckpointable
{
    private const int Magic = 0x48454132; // marks a part of this solver (four ASCII letters)
    private const int HeaderBytes = 4 + 4 + 8 + 8;

    /// <summary>What a checkpoint must match to be read by this job: the grid and the part format.</summary>
    /// <remarks>
    /// Compared on every rank before any rank loads: a checkpoint of another grid is declined by RESTART
    /// checkpoint and refused by --resume with exit code 2. Change the format tag when the part's layout changes.
    /// </remarks>
    public string CompatibilityKey => FormattableString.Invariant($"heat-2d grid={_n}x{_n} part=HEAT2");

    /// <summary>
    /// The field: an n × (n + 2) array (the rows with their two boundary columns), of which this rank holds
    /// rows <c>_row0</c> onwards, without its ghost rows. Asked for at each checkpoint and load, so it always
    /// names the current buffer (the sweep swaps <c>_u</c> and <c>_next</c>).
    /// </summary>
    public IReadOnlyList<CheckpointArray> CheckpointArrays =>
        [CheckpointArray.Of("u", [_n, _stride], (long)_row0 * _stride, _u.AsMemory(_stride, _rows * _stride))];

    /// <inheritdoc />
    /// <remarks>The free-form rest, the same on every rank (a job on another rank count reads rank 0's).</remarks>
    public void WriteCheckpoint(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], _n);
        BinaryPrimitives.WriteDoubleLittleEndian(header[8..], _source);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], _sweeps);
        stream.Write(header);
    }

    /// <inheritdoc />
    /// <remarks>Called after the framework has filled this rank's rows of the field.</remarks>
    public void ReadCheckpoint(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[HeaderBytes];
        stream.ReadExactly(header);
        var magic = BinaryPrimitives.ReadInt32LittleEndian(header);
        var n = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (magic != Magic || !BitConverter.IsLittleEndian)
        {
            throw new InvalidDataException("this checkpoint part was not written by this solver on this kind of machine");
        }

        if (n != _n)
        {
            throw new InvalidDataException($"the checkpoint holds a {n}x{n} grid, this job has {_n}x{_n}: resume with the same --n");
        }

        _source = BinaryPrimitives.ReadDoubleLittleEndian(header[8..]);
        _sweeps = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        UpdateScale();
    }
}
