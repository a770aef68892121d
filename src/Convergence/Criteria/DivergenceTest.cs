using System.Globalization;

namespace Convergence.Criteria;

/// <summary>Diverged when the residual has grown above <see cref="Factor"/> times the best residual since the last (re)start.</summary>
public sealed class DivergenceTest : IConvergenceTest
{
    private double _best = double.PositiveInfinity;
    private double _residual;
    private long _iteration;

    /// <summary>Creates the test.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is not a finite number above 1.</exception>
    public DivergenceTest(double factor)
    {
        if (!double.IsFinite(factor) || factor <= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "the divergence factor must be a finite number above 1");
        }

        Factor = factor;
    }

    /// <summary>How far above its best the residual may grow.</summary>
    public double Factor { get; }

    /// <inheritdoc/>
    public string Reason => string.Create(
        CultureInfo.InvariantCulture,
        $"residual {_residual:G6} at iteration {_iteration} grew above {Factor:G6} x its best {_best:G6} (--divergence-factor)");

    /// <inheritdoc/>
    public ConvergenceVerdict Check(long iteration, double residual, double tolerance)
    {
        if (residual < _best)
        {
            _best = residual;
            return ConvergenceVerdict.Continue;
        }

        if (residual > Factor * _best)
        {
            _residual = residual;
            _iteration = iteration;
            return ConvergenceVerdict.Diverged;
        }

        return ConvergenceVerdict.Continue;
    }

    /// <inheritdoc/>
    public void Reset() => _best = double.PositiveInfinity;
}
