using System.Globalization;

namespace Convergence.Criteria;

/// <summary>
/// Stagnated when the best residual since the last (re)start is not below (1 − fraction) times the best
/// residual of <see cref="StagnationRule.Window"/> iterations ago; in warn mode the run goes on and the page
/// and log say "not converging at this rate" until the residual improves again.
/// </summary>
/// <remarks>
/// The first verdict can come at iteration <c>Window + 1</c>. The best-so-far of the last window is kept in
/// a ring allocated once (one double per iteration of the window), so <see cref="Check"/> is a few compares
/// and allocates nothing.
/// </remarks>
public sealed class StagnationTest : IConvergenceTest
{
    private readonly double[] _bestRing;
    private double _best = double.PositiveInfinity;
    private double _bestThen;
    private long _count;
    private long _iteration;

    /// <summary>Creates the test for <paramref name="rule"/>.</summary>
    public StagnationTest(StagnationRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentOutOfRangeException.ThrowIfLessThan(rule.Window, 2, nameof(rule));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rule.Window, StagnationRule.MaxWindow, nameof(rule));
        if (!(rule.Fraction > 0 && rule.Fraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(rule), rule.Fraction, "the stagnation fraction must be between 0 and 1");
        }

        Rule = rule;
        _bestRing = new double[rule.Window];
    }

    /// <summary>The window, fraction and mode.</summary>
    public StagnationRule Rule { get; }

    /// <inheritdoc/>
    public string Reason => string.Create(
        CultureInfo.InvariantCulture,
        $"not converging at this rate: best residual {_best:G6} at iteration {_iteration} is less than {Rule.Fraction:G3} below the best {Rule.Window} iterations earlier ({_bestThen:G6}) (--stagnation {Rule})");

    /// <inheritdoc/>
    public ConvergenceVerdict Check(long iteration, double residual, double tolerance)
    {
        if (residual < _best)
        {
            _best = residual;
        }

        var slot = (int)(_count % _bestRing.Length);
        var verdict = ConvergenceVerdict.Continue;
        if (_count >= _bestRing.Length)
        {
            // The ring's slot holds the best as it was exactly one window ago.
            var then = _bestRing[slot];
            if (!(_best < (1 - Rule.Fraction) * then))
            {
                _bestThen = then;
                _iteration = iteration;
                verdict = Rule.WarnOnly ? ConvergenceVerdict.NotConverging : ConvergenceVerdict.Stagnated;
            }
        }

        _bestRing[slot] = _best;
        _count++;
        return verdict;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _best = double.PositiveInfinity;
        _count = 0;
    }
}
