using System.Globalization;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Options;
using Convergence.Solver;

namespace HeatSolver;

/// <summary>
/// Steady heat: -Δu = q on the unit square, u = 0 on the boundary, five-point stencil on an n×n interior
/// grid, Jacobi sweeps. The grid is split across ranks in blocks of rows; each block keeps one ghost row
/// on each side, filled from the neighbouring ranks before every sweep (halo exchange).
/// </summary>
/// <remarks>
/// The framework calls <see cref="Initialize"/> on every rank (again on RESTART), then <see cref="Iterate"/>
/// until the globally reduced residual is below the tolerance or a command ends the run, then
/// <see cref="Finish"/>. Commands arrive between two iterations, on every rank at the same one.
/// Checkpoints are in HeatEquation.Checkpoint.cs.
/// </remarks>
internal sealed partial class HeatEquation : IIterativeSolver
{
    /// <summary>
    /// SOURCE q: a new heat source while the job runs. Its range is declared once: rank 0 refuses a value outside
    /// [0, 1e6] with the reason (<c>SOURCE: -1 is out of range [0, 1000000]</c>), <see cref="ApplyCommand"/> gets
    /// the parsed number, and the status page's form is a number field with these bounds.
    /// </summary>
    private static readonly CustomCommand SourceCommand = new("SOURCE", "Change the heat source", CommandArgument.Number(0, 1e6));

    private readonly HeatOptions _options;
    private readonly int _n;
    private readonly int _rank;
    private readonly int _size;
    private readonly int _row0;
    private readonly int _rows;
    private readonly int _stride;
    private readonly double _h;

    // Both fields are allocated once: Iterate must not allocate (a GC pause on one rank stalls every rank
    // at the next reduction).
    private double[] _u;
    private double[] _next;
    private ICoordinator? _coordinator;
    private IPointToPoint? _neighbours;
    private double _source;
    private double _inverseRhsNormSquared;
    private long _sweeps;
    private double _maxTemperature = double.NaN;

    /// <summary>Creates this rank's block of rows.</summary>
    public HeatEquation(HeatOptions options, int rank, int size)
    {
        ArgumentNullException.ThrowIfNull(options);
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
        _u = new double[(_rows + 2) * _stride];
        _next = new double[(_rows + 2) * _stride];
        _source = options.Source;
    }

    /// <inheritdoc />
    public string Name => "heat-jacobi";

    /// <inheritdoc />
    public IReadOnlyList<CustomCommand> Commands => [SourceCommand];

    /// <summary>The heat source in use.</summary>
    public double Source => _source;

    /// <summary>The highest temperature, known after <see cref="Finish"/>.</summary>
    public double MaxTemperature => _maxTemperature;

    /// <inheritdoc />
    public IEnumerable<(string Key, string Value)> ResultFields =>
    [
        ("grid", FormattableString.Invariant($"{_n}x{_n}")),
        ("source", _source.ToString("R", CultureInfo.InvariantCulture)),
        ("max_temperature", _maxTemperature.ToString("R", CultureInfo.InvariantCulture)),
    ];

    /// <inheritdoc />
    public void Initialize(SolverContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _coordinator = context.Coordinator;

        // The MPI coordinator implements point-to-point exchange; a single process has no neighbours.
        _neighbours = context.Coordinator as IPointToPoint;
        if (_size > 1 && _neighbours is null)
        {
            throw new InvalidOperationException("a grid split across ranks needs a coordinator with neighbour exchange (MPI)");
        }

        Array.Clear(_u);
        Array.Clear(_next);
        _sweeps = 0;
        _source = _options.Source;
        UpdateScale();
    }

    /// <inheritdoc />
    public double Iterate()
    {
        _sweeps++;
        if (_options.SlowMilliseconds > 0)
        {
            Thread.Sleep(TimeSpan.FromMilliseconds(_options.SlowMilliseconds));
        }

        ExchangeHalos(_u);
        var sum = JacobiSweep();
        (_u, _next) = (_next, _u);

        // This rank's share of the squared relative residual; the framework sums the shares over all ranks.
        return sum * _inverseRhsNormSquared;
    }

    /// <inheritdoc />
    public void ApplyCommand(ControlCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Name == SourceCommand.Name)
        {
            _source = command.Value;
            UpdateScale();
        }
    }

    /// <inheritdoc />
    public void Finish(RunResult result)
    {
        // Collective: every rank gets here at the same iteration, so a reduction is safe. A real solver
        // would also write its solution here (one file per rank, or gathered on rank 0).
        var localMax = 0.0;
        for (var lr = 1; lr <= _rows; lr++)
        {
            foreach (var v in _u.AsSpan((lr * _stride) + 1, _n))
            {
                localMax = Math.Max(localMax, v);
            }
        }

        _maxTemperature = _coordinator!.AllreduceMax(localMax);
    }

    private void UpdateScale()
    {
        // |h²q|² summed over the n² interior points: known in closed form, so no collective is needed here
        // (ApplyCommand may not call collectives). A zero source leaves the residual absolute.
        var rhs = _h * _h * _source;
        var normSquared = (double)_n * _n * rhs * rhs;
        _inverseRhsNormSquared = normSquared > 0 ? 1.0 / normSquared : 1.0;
    }

    private double JacobiSweep()
    {
        var u = _u;
        var next = _next;
        var f = _h * _h * _source;
        var sum = 0.0;
        for (var lr = 1; lr <= _rows; lr++)
        {
            var row = lr * _stride;
            for (var j = 1; j <= _n; j++)
            {
                var k = row + j;
                var r = f + u[k - 1] + u[k + 1] + u[k - _stride] + u[k + _stride] - (4 * u[k]);
                next[k] = u[k] + (0.25 * r);
                sum += r * r;
            }
        }

        return sum;
    }

    /// <summary>Fills the ghost rows from the neighbouring ranks; on the outer boundary they stay 0.</summary>
    private void ExchangeHalos(double[] field)
    {
        if (_neighbours is null)
        {
            return;
        }

        var below = _rank > 0 ? _rank - 1 : -1;
        var above = _rank < _size - 1 ? _rank + 1 : -1;
        var span = field.AsSpan();

        // Upwards: my last row to the rank above, my first ghost row from the rank below; then downwards.
        _neighbours.SendReceive(span.Slice(_rows * _stride, _stride), above, span[.._stride], below, 1);
        _neighbours.SendReceive(span.Slice(_stride, _stride), below, span.Slice((_rows + 1) * _stride, _stride), above, 2);
    }
}
