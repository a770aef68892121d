namespace Convergence.Criteria;

/// <summary>
/// Asks each test in turn; the first verdict that ends the run wins. A <see cref="ConvergenceVerdict.NotConverging"/>
/// is kept while the later tests are asked, and returned if none of them ends the run.
/// </summary>
/// <remarks>Every test sees every iteration, so each one's history stays complete whatever the others say.</remarks>
public sealed class CompositeConvergenceTest : IConvergenceTest
{
    private readonly IConvergenceTest[] _tests;
    private IConvergenceTest? _decided;

    /// <summary>Combines <paramref name="tests"/>, asked in this order.</summary>
    public CompositeConvergenceTest(params IConvergenceTest[] tests)
    {
        ArgumentNullException.ThrowIfNull(tests);
        ArgumentOutOfRangeException.ThrowIfZero(tests.Length, nameof(tests));
        _tests = (IConvergenceTest[])tests.Clone();
    }

    /// <summary>The tests, in the order they are asked.</summary>
    public IReadOnlyList<IConvergenceTest> Tests => _tests;

    /// <inheritdoc/>
    public string Reason => _decided?.Reason ?? string.Empty;

    /// <inheritdoc/>
    public ConvergenceVerdict Check(long iteration, double residual, double tolerance)
    {
        var result = ConvergenceVerdict.Continue;
        IConvergenceTest? decided = null;
        foreach (var test in _tests)
        {
            var verdict = test.Check(iteration, residual, tolerance);
            if (verdict == ConvergenceVerdict.Continue || result is not (ConvergenceVerdict.Continue or ConvergenceVerdict.NotConverging))
            {
                continue;
            }

            result = verdict;
            decided = test;
        }

        if (decided is not null)
        {
            _decided = decided;
        }

        return result;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        foreach (var test in _tests)
        {
            test.Reset();
        }

        _decided = null;
    }
}
