using System.Buffers.Binary;
using Convergence.Solver;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// A small deterministic single-process solver for in-process checkpoint tests: each iteration relaxes a
/// vector towards a fixed target, so the residual falls geometrically and every run is bit-reproducible.
/// </summary>
internal sealed class RelaxationSolver : IIterativeSolver, ICheckpointable
{
    private readonly double[] _x;
    private readonly double _factor;
    private readonly int _sleepMs;

    public RelaxationSolver(int size = 64, double factor = 0.97, int sleepMs = 0)
    {
        _x = new double[size];
        _factor = factor;
        _sleepMs = sleepMs;
    }

    public string Name => "relaxation";

    /// <summary>The vector's length decides whether a checkpoint can be read.</summary>
    public string CompatibilityKey => $"relaxation size={_x.Length}";

    /// <summary>Makes <see cref="ReadCheckpoint"/> throw, as a solver whose reader rejects a verified part.</summary>
    public bool FailReads { get; init; }

    public int Reads { get; private set; }

    public void Initialize(SolverContext context)
    {
        for (var i = 0; i < _x.Length; i++)
        {
            _x[i] = 1.0 + i;
        }
    }

    public double Iterate()
    {
        if (_sleepMs > 0)
        {
            Thread.Sleep(_sleepMs);
        }

        var sum = 0.0;
        for (var i = 0; i < _x.Length; i++)
        {
            var target = Math.Sin(i);
            var next = target + (_factor * (_x[i] - target));
            sum += (next - _x[i]) * (next - _x[i]);
            _x[i] = next;
        }

        return sum;
    }

    public void Finish(RunResult result)
    {
    }

    public void WriteCheckpoint(Stream stream)
    {
        Span<byte> buffer = stackalloc byte[8];
        foreach (var v in _x)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(buffer, v);
            stream.Write(buffer);
        }
    }

    public void ReadCheckpoint(Stream stream)
    {
        if (FailReads)
        {
            throw new InvalidDataException("relaxation: this part is not mine");
        }

        Span<byte> buffer = stackalloc byte[8];
        for (var i = 0; i < _x.Length; i++)
        {
            stream.ReadExactly(buffer);
            _x[i] = BinaryPrimitives.ReadDoubleLittleEndian(buffer);
        }

        Reads++;
    }
}
