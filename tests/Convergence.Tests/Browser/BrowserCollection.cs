namespace Convergence.Tests.Browser;

/// <summary>
/// Browser tests share one Chromium and run one at a time, and not beside other tests: they start
/// solver and portal processes and wait on a real browser, which two cores cannot host next to
/// other 2-rank jobs without turning steering into a lottery.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserCollection : ICollectionFixture<ChromiumFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Browser";
}
