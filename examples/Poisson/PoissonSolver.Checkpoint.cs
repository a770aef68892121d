using System.Buffers.Binary;
using Convergence.Solver;

namespace Convergence.Examples.Poisson;

/// <summary>
/// Checkpoints for the Poisson example: the field is declared as one global array (<c>u</c>, the grid's
/// rows with their two boundary columns), each rank's interior rows being its slice, so the framework saves
/// it and a checkpoint loads on any rank count. The free-form rest is a small header, the same on every rank.
/// </summary>
/// <remarks>
/// The field is all the state an iteration depends on: Jacobi's partner array is fully overwritten before
/// it is read, red-black SOR works in place, and the ghost rows are exchanged before every sweep. So a run
/// restored from a checkpoint continues as the uninterrupted run would: bit for bit on the same rank count,
/// and with the same field on another one (Jacobi and red-black SOR do not depend on the split).
/// </remarks>
public sealed partial class PoissonSolver : IDistributedCheckpointable
{
    private const int CheckpointMagic = 0x50534E32; // "PSN2"
    private const int HeaderBytes = 4 + 4 + 4 + 8;

    /// <inheritdoc />
    /// <remarks>
    /// The grid and the part format decide whether a checkpoint can be read; the method does not (the field is
    /// valid for Jacobi and SOR alike), and the rank count does not matter (the field is a declared array).
    /// </remarks>
    public string CompatibilityKey => FormattableString.Invariant($"poisson-2d grid={_n}x{_n} part=PSN2");

    /// <inheritdoc />
    /// <remarks>Rows <c>_row0</c> onwards of the n × (n + 2) field; the ghost rows are not part of it.</remarks>
    public IReadOnlyList<CheckpointArray> CheckpointArrays =>
        [CheckpointArray.Of("u", [_n, _stride], (long)_row0 * _stride, _u.AsMemory(_stride, _rows * _stride))];

    /// <inheritdoc />
    public void WriteCheckpoint(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteInt32LittleEndian(header, CheckpointMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], _n);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], _options.Sor ? 1 : 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], _sweeps);
        stream.Write(header);
    }

    /// <inheritdoc />
    public void ReadCheckpoint(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        stream.ReadExactly(header);
        var magic = BinaryPrimitives.ReadInt32LittleEndian(header);
        var n = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        var sor = BinaryPrimitives.ReadInt32LittleEndian(header[8..]) == 1;
        var sweeps = BinaryPrimitives.ReadInt64LittleEndian(header[12..]);
        if (magic != CheckpointMagic || !BitConverter.IsLittleEndian)
        {
            throw new InvalidDataException("this checkpoint part was not written by the Poisson example on this kind of machine");
        }

        if (n != _n)
        {
            throw new InvalidDataException($"the checkpoint holds a {n}x{n} grid, this job has {_n}x{_n}: resume with the same --n");
        }

        if (sor != _options.Sor)
        {
            // The field is valid for either method; the run just will not match an uninterrupted one.
            Console.Error.WriteLine($"poisson: rank {_rank}: checkpoint written with --method {(sor ? "sor" : "jacobi")}, continuing with {(_options.Sor ? "sor" : "jacobi")}");
        }

        _sweeps = sweeps;
    }
}
