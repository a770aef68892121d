using System.Globalization;
using System.Text;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Examples.Poisson;

/// <summary>
/// −∇²u = f on the unit square with u = 0 on the boundary, f = 2π² sin(πx) sin(πy), so the exact solution
/// is u = sin(πx) sin(πy). Second-order five-point stencil on an n×n interior grid, split across ranks in
/// blocks of rows with one ghost row on each side (halo exchange); red-black SOR or Jacobi.
/// </summary>
/// <remarks>
/// The template for a new solver: <see cref="Initialize"/> sets up this rank's share, <see cref="Iterate"/>
/// does one sweep and returns the local sum of squared residuals (the framework reduces it, decides
/// convergence and applies commands), <see cref="Finish"/> writes the solution.
/// </remarks>
public sealed partial class PoissonSolver : IIterativeSolver
{
    private readonly PoissonOptions _options;
    private readonly int _n;
    private readonly int _rank;
    private readonly int _size;
    private readonly int _row0;
    private readonly int _rows;
    private readonly int _stride;
    private readonly double _h;

    // SOR's over-relaxation factor (the optimal one unless a RELAXATION command set another), or the
    // Jacobi weight (1: plain Jacobi). Kept across RESTART, like the tolerance.
    private double _relaxation;

    // The field, its Jacobi partner and h²f, allocated once: the sweep must not allocate (GC pauses on
    // one rank stall every rank at the next reduction).
    private double[] _u;
    private double[] _next;
    private readonly double[] _h2f;
    private ICoordinator? _coordinator;
    private IPointToPoint? _neighbours;
    private double _inverseNormSquared;
    private long _sweeps;
    private string? _outputFile;
    private double _maxError = double.NaN;

    /// <summary>Creates this rank's share of the grid.</summary>
    public PoissonSolver(PoissonOptions options, int rank, int size)
    {
        if (options.N < size)
        {
            throw new OptionsException($"--n {options.N} is smaller than the {size} ranks: every rank needs at least one row");
        }

        _options = options;
        _n = options.N;
        _rank = rank;
        _size = size;
        _row0 = (int)((long)_n * rank / size);
        _rows = (int)((long)_n * (rank + 1) / size) - _row0;
        _stride = _n + 2;
        _h = 1.0 / (_n + 1);
        _relaxation = options.Sor ? 2.0 / (1.0 + Math.Sin(Math.PI * _h)) : 1.0;
        _u = new double[(_rows + 2) * _stride];
        _next = options.Sor ? [] : new double[(_rows + 2) * _stride];
        _h2f = new double[(_rows + 2) * _stride];
    }

    /// <inheritdoc />
    public string Name => _options.Sor ? "poisson-2d-sor" : "poisson-2d-jacobi";

    /// <inheritdoc />
    public IReadOnlyList<CustomCommand> Commands =>
    [
        // Declared once: rank 0 refuses a value outside the range ("RELAXATION: 2.5 is out of range (0, 2)"),
        // ApplyCommand gets the parsed number, and the page's form is a number field with these bounds.
        _options.Sor
            ? new("RELAXATION", "SOR over-relaxation factor (optimal by default)", CommandArgument.Number(0, 2, excludeMinimum: true, excludeMaximum: true))
            : new("RELAXATION", "Jacobi weight (1 by default)", CommandArgument.Number(0, 1, excludeMinimum: true)),
    ];

    /// <summary>The largest error against the exact solution, known after <see cref="Finish"/>.</summary>
    public double MaxError => _maxError;

    /// <inheritdoc />
    public IEnumerable<(string Key, string Value)> ResultFields
    {
        get
        {
            yield return ("grid", $"{_n}x{_n}");
            yield return ("relaxation", _relaxation.ToString("R", CultureInfo.InvariantCulture));
            if (!double.IsNaN(_maxError))
            {
                yield return ("max_error", _maxError.ToString("R", CultureInfo.InvariantCulture));
            }
            if (_outputFile is not null)
            {
                yield return ("solution", _outputFile);
            }
        }
    }

    /// <inheritdoc />
    public void Initialize(SolverContext context)
    {
        _coordinator = context.Coordinator;
        _neighbours = context.Coordinator as IPointToPoint;
        if (_size > 1 && _neighbours is null)
        {
            throw new InvalidOperationException("A distributed Poisson grid needs a coordinator with neighbour exchange (MPI).");
        }

        Array.Clear(_u);
        Array.Clear(_next);
        var normSquared = 0.0;
        for (var lr = 1; lr <= _rows; lr++)
        {
            var y = (_row0 + lr) * _h;
            for (var j = 1; j <= _n; j++)
            {
                var x = j * _h;
                var v = _h * _h * 2 * Math.PI * Math.PI * Math.Sin(Math.PI * x) * Math.Sin(Math.PI * y);
                _h2f[(lr * _stride) + j] = v;
                normSquared += v * v;
            }
        }

        _inverseNormSquared = 1.0 / context.Coordinator.AllreduceSum(normSquared);
    }

    /// <summary>The test hook: throws here, or on a thread of its own (see <see cref="FailureSite"/>).</summary>
    private void InjectFailure()
    {
        if (_options.FailOn == FailureSite.Stuck)
        {
            Thread.Sleep(TimeSpan.FromHours(1));
            return;
        }

        var message = $"injected failure at iteration {_sweeps} on rank {_rank} (--fail-at-iteration)";
        if (_options.FailOn == FailureSite.Main)
        {
            throw new InvalidOperationException(message);
        }

        new Thread(() => throw new InvalidOperationException(message)) { IsBackground = true, Name = "poisson-injected" }.Start();
        if (_options.FailOn == FailureSite.ThreadWhileMainStuck)
        {
            Thread.Sleep(TimeSpan.FromHours(1));
        }
    }

    /// <inheritdoc />
    public double Iterate()
    {
        _sweeps++;
        if (_options.FailAtIteration > 0 && _sweeps == _options.FailAtIteration && _options.FailsOn(_rank))
        {
            InjectFailure();
        }

        if (_options.SlowMilliseconds > 0)
        {
            Thread.Sleep(TimeSpan.FromMilliseconds(_options.SlowMilliseconds));
        }

        double sum;
        if (_options.Sor)
        {
            ExchangeHalos(_u);
            sum = SorSweep(0);
            ExchangeHalos(_u);
            sum += SorSweep(1);
        }
        else
        {
            ExchangeHalos(_u);
            sum = JacobiSweep();
            (_u, _next) = (_next, _u);
        }

        return sum * _inverseNormSquared;
    }

    /// <inheritdoc />
    public void ApplyCommand(ControlCommand command) => _relaxation = command.Value;

    /// <inheritdoc />
    public string? SettingValue(string commandName) =>
        commandName == "RELAXATION" ? _relaxation.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <inheritdoc />
    public void Finish(RunResult result)
    {
        // Collective: every rank is here at the same point, so the halo exchange and reduction are safe.
        ExchangeHalos(_u);
        var localMax = 0.0;
        for (var lr = 1; lr <= _rows; lr++)
        {
            var y = (_row0 + lr) * _h;
            for (var j = 1; j <= _n; j++)
            {
                var exact = Math.Sin(Math.PI * j * _h) * Math.Sin(Math.PI * y);
                localMax = Math.Max(localMax, Math.Abs(_u[(lr * _stride) + j] - exact));
            }
        }

        _maxError = _coordinator!.AllreduceMax(localMax);
        if (_options.OutputDirectory is { } folder)
        {
            _outputFile = VtkWriter.Write(folder, this);
        }
    }

    /// <summary>The value at global grid point (i, j), 0..n+1 each, if this rank holds it.</summary>
    internal bool TryGetValue(int globalRow, int column, out double value)
    {
        var lr = globalRow - _row0;
        if (lr < 0 || lr > _rows + 1)
        {
            value = 0;
            return false;
        }

        value = _u[(lr * _stride) + column];
        return true;
    }

    internal int N => _n;

    internal int Rank => _rank;

    internal int Size => _size;

    internal int FirstRow => _row0;

    internal int Rows => _rows;

    private unsafe double SorSweep(int colour)
    {
        var sum = 0.0;
        var quarterOmega = _relaxation * 0.25;
        fixed (double* u = _u, f = _h2f)
        {
            for (var lr = 1; lr <= _rows; lr++)
            {
                var row = lr * _stride;
                var start = 1 + ((_row0 + lr + 1 + colour) & 1);
                for (var j = start; j <= _n; j += 2)
                {
                    var k = row + j;
                    var s = f[k] + u[k - 1] + u[k + 1] + u[k - _stride] + u[k + _stride] - (4 * u[k]);
                    u[k] += quarterOmega * s;
                    sum += s * s;
                }
            }
        }

        return sum;
    }

    private unsafe double JacobiSweep()
    {
        var sum = 0.0;
        var quarterWeight = _relaxation * 0.25;
        fixed (double* u = _u, next = _next, f = _h2f)
        {
            for (var lr = 1; lr <= _rows; lr++)
            {
                var row = lr * _stride;
                for (var j = 1; j <= _n; j++)
                {
                    var k = row + j;
                    var s = f[k] + u[k - 1] + u[k + 1] + u[k - _stride] + u[k + _stride] - (4 * u[k]);
                    next[k] = u[k] + (quarterWeight * s);
                    sum += s * s;
                }
            }
        }

        return sum;
    }

    private void ExchangeHalos(double[] field)
    {
        if (_size == 1)
        {
            return;
        }

        var below = _rank > 0 ? _rank - 1 : -1;
        var above = _rank < _size - 1 ? _rank + 1 : -1;
        var span = field.AsSpan();

        // Upwards: my top row to the rank above, my bottom ghost row from the rank below; then downwards.
        _neighbours!.SendReceive(span.Slice(_rows * _stride, _stride), above, span[.._stride], below, 1);
        _neighbours.SendReceive(span.Slice(_stride, _stride), below, span.Slice((_rows + 1) * _stride, _stride), above, 2);
    }

    private static class VtkWriter
    {
        /// <summary>Writes this rank's piece (and, on rank 0, the index that joins them); returns the index path.</summary>
        public static string Write(string folder, PoissonSolver s)
        {
            Directory.CreateDirectory(folder);
            var last = s.Rank == s.Size - 1;
            var y0 = s.FirstRow;
            var y1 = s.FirstRow + s.Rows + (last ? 1 : 0);
            var extent = FormattableString.Invariant($"0 {s.N + 1} {y0} {y1} 0 0");
            var sb = new StringBuilder();
            sb.Append("<?xml version=\"1.0\"?>\n<VTKFile type=\"ImageData\" version=\"1.0\" byte_order=\"LittleEndian\">\n");
            sb.Append(CultureInfo.InvariantCulture, $"<ImageData WholeExtent=\"0 {s.N + 1} 0 {s.N + 1} 0 0\" Origin=\"0 0 0\" Spacing=\"{s._h:R} {s._h:R} 1\">\n");
            sb.Append(CultureInfo.InvariantCulture, $"<Piece Extent=\"{extent}\">\n<PointData Scalars=\"u\">\n<DataArray type=\"Float64\" Name=\"u\" format=\"ascii\">\n");
            for (var g = y0; g <= y1; g++)
            {
                for (var j = 0; j <= s.N + 1; j++)
                {
                    s.TryGetValue(g, j, out var v);
                    sb.Append(v.ToString("R", CultureInfo.InvariantCulture)).Append(j == s.N + 1 ? '\n' : ' ');
                }
            }

            sb.Append("</DataArray>\n</PointData>\n</Piece>\n</ImageData>\n</VTKFile>\n");
            Output.AtomicFile.WriteAllText(Path.Combine(folder, $"poisson_{s.Rank}.vti"), sb.ToString());

            var index = Path.GetFullPath(Path.Combine(folder, "poisson.pvti"));
            if (s.Rank == 0)
            {
                var p = new StringBuilder();
                p.Append("<?xml version=\"1.0\"?>\n<VTKFile type=\"PImageData\" version=\"1.0\" byte_order=\"LittleEndian\">\n");
                p.Append(CultureInfo.InvariantCulture, $"<PImageData WholeExtent=\"0 {s.N + 1} 0 {s.N + 1} 0 0\" GhostLevel=\"0\" Origin=\"0 0 0\" Spacing=\"{s._h:R} {s._h:R} 1\">\n");
                p.Append("<PPointData Scalars=\"u\">\n<PDataArray type=\"Float64\" Name=\"u\"/>\n</PPointData>\n");
                for (var r = 0; r < s.Size; r++)
                {
                    var r0 = (int)((long)s.N * r / s.Size);
                    var r1 = (int)((long)s.N * (r + 1) / s.Size) + (r == s.Size - 1 ? 1 : 0);
                    p.Append(CultureInfo.InvariantCulture, $"<Piece Extent=\"0 {s.N + 1} {r0} {r1} 0 0\" Source=\"poisson_{r}.vti\"/>\n");
                }

                p.Append("</PImageData>\n</VTKFile>\n");
                Output.AtomicFile.WriteAllText(index, p.ToString());
            }

            return index;
        }
    }
}
