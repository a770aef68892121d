using System.Globalization;

namespace Convergence.Criteria;

/// <summary>
/// Converged when the residual is below the tolerance (absolute), or below the tolerance times the first
/// residual since the last (re)start (relative).
/// </summary>
public sealed class ToleranceTest : IConvergenceTest
{
    private double _first = double.NaN;
    private double _residual;
    private double _limit;

    /// <summary>Creates the test; <paramref name="relative"/> measures the tolerance against the first residual.</summary>
    public ToleranceTest(bool relative) => Relative = relative;

    /// <summary>True when the tolerance is a fraction of the first residual.</summary>
    public bool Relative { get; }

    /// <inheritdoc/>
    public string Reason => Relative
        ? string.Create(CultureInfo.InvariantCulture, $"residual {_residual:G6} below {_limit:G6} (tolerance relative to the first residual {_first:G6})")
        : string.Create(CultureInfo.InvariantCulture, $"residual {_residual:G6} below tolerance {_limit:G6}");

    /// <inheritdoc/>
    public ConvergenceVerdict Check(long iteration, double residual, double tolerance)
    {
        if (double.IsNaN(_first))
        {
            _first = residual;
        }

        var limit = Relative ? tolerance * _first : tolerance;
        if (residual < limit)
        {
            _residual = residual;
            _limit = limit;
            return ConvergenceVerdict.Converged;
        }

        return ConvergenceVerdict.Continue;
    }

    /// <inheritdoc/>
    public void Reset() => _first = double.NaN;
}
