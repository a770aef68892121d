using System.Globalization;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Solver;
using Convergence.Testing;

namespace Convergence.Tests.Testing;

/// <summary>
/// A small halo-exchange solver for the multi-rank harness's tests: steady heat in a rod, -u'' = q on n cells
/// with u = 0 at both ends, Jacobi sweeps; the cells are split across ranks in blocks, each with one ghost
/// cell per side filled from the neighbour before every sweep. A HEAT q command changes the source;
/// checkpoints hold the block.
/// </summary>
internal sealed class HaloRod : IIterativeSolver, ICheckpointable
{
    /// <summary>HEAT q: a new source, in [0, 100].</summary>
    public static readonly CustomCommand Heat = new("HEAT", "Change the heat source", CommandArgument.Number(0, 100));

    private readonly int _rank;
    private readonly int _size;
    private readonly int _n;
    private readonly int _cells;
    private readonly Fault _fault;
    private double[] _u;
    private double[] _next;
    private IPointToPoint? _neighbours;
    private ICoordinator? _coordinator;
    private double _source = 1;
    private long _sweeps;
    private double _sum = double.NaN;

    public HaloRod(int rank, int size, int n = 24, Fault fault = Fault.None)
    {
        (_rank, _size, _n, _fault) = (rank, size, n, fault);
        var first = n * rank / size;
        _cells = (n * (rank + 1) / size) - first;
        _u = new double[_cells + 2];
        _next = new double[_cells + 2];
    }

    /// <summary>A mistake to build in, for the tests that the harness catches or reports it.</summary>
    public enum Fault
    {
        /// <summary>A correct solver.</summary>
        None,

        /// <summary>The ghost cells are never filled: right on one rank, wrong on several.</summary>
        SkippedHalo,

        /// <summary>Rank 1 throws at iteration 5.</summary>
        RankOneThrows,

        /// <summary>Rank 1 stops answering at iteration 3 (the others wait in the next collective).</summary>
        RankOneHangs,
    }

    public string Name => "halo-rod";

    public IReadOnlyList<CustomCommand> Commands => [Heat];

    public IEnumerable<(string Key, string Value)> ResultFields => [("sum", _sum.ToString("R", CultureInfo.InvariantCulture))];

    public void Initialize(SolverContext context)
    {
        _coordinator = context.Coordinator;
        _neighbours = context.Coordinator as IPointToPoint;
        Array.Clear(_u);
        Array.Clear(_next);
        _source = 1;
        _sweeps = 0;
    }

    public double Iterate()
    {
        _sweeps++;
        if (_rank == 1 && _fault == Fault.RankOneThrows && _sweeps == 5)
        {
            throw new InvalidOperationException("the rod broke on rank 1 at sweep 5");
        }

        if (_rank == 1 && _fault == Fault.RankOneHangs && _sweeps == 3)
        {
            Thread.Sleep(Timeout.Infinite);
        }

        if (_fault != Fault.SkippedHalo && _neighbours is not null)
        {
            var below = _rank > 0 ? _rank - 1 : -1;
            var above = _rank < _size - 1 ? _rank + 1 : -1;
            _neighbours.SendReceive(_u.AsSpan(_cells, 1), above, _u.AsSpan(0, 1), below, 1);
            _neighbours.SendReceive(_u.AsSpan(1, 1), below, _u.AsSpan(_cells + 1, 1), above, 2);
        }

        var h2q = _source / ((_n + 1.0) * (_n + 1.0));
        var sum = 0.0;
        for (var i = 1; i <= _cells; i++)
        {
            var r = h2q + _u[i - 1] + _u[i + 1] - (2 * _u[i]);
            _next[i] = _u[i] + (0.5 * r);
            sum += r * r;
        }

        (_u, _next) = (_next, _u);
        return sum;
    }

    public void ApplyCommand(ControlCommand command)
    {
        if (command.Name == Heat.Name)
        {
            _source = command.Value;
        }
    }

    public void Finish(RunResult result)
    {
        var local = 0.0;
        for (var i = 1; i <= _cells; i++)
        {
            local += _u[i];
        }

        _sum = _coordinator!.AllreduceSum(local);
    }

    public void WriteCheckpoint(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(_source);
        foreach (var v in _u)
        {
            writer.Write(v);
        }
    }

    public void ReadCheckpoint(Stream stream)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        _source = reader.ReadDouble();
        for (var i = 0; i < _u.Length; i++)
        {
            _u[i] = reader.ReadDouble();
        }
    }

    /// <summary>The correct rod, 24 cells.</summary>
    public sealed class Correct : IRankSolverFactory
    {
        public IIterativeSolver Create(JobSetup setup) => new HaloRod(setup.Rank, setup.Size);
    }

    /// <summary>A rod whose ranks never exchange their boundary cells.</summary>
    public sealed class SkippedHalo : IRankSolverFactory
    {
        public IIterativeSolver Create(JobSetup setup) => new HaloRod(setup.Rank, setup.Size, fault: Fault.SkippedHalo);
    }

    /// <summary>A rod that fails on rank 1.</summary>
    public sealed class RankOneThrows : IRankSolverFactory
    {
        public IIterativeSolver Create(JobSetup setup) => new HaloRod(setup.Rank, setup.Size, fault: Fault.RankOneThrows);
    }

    /// <summary>A rod that hangs on rank 1; every rank first writes its process id into the folder given as the solver's argument.</summary>
    public sealed class RankOneHangs : IRankSolverFactory
    {
        public IIterativeSolver Create(JobSetup setup)
        {
            File.WriteAllText(Path.Combine(setup.SolverArguments[0], $"rank-{setup.Rank}.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            return new HaloRod(setup.Rank, setup.Size, fault: Fault.RankOneHangs);
        }
    }
}
