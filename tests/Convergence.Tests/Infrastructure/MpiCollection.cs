namespace Convergence.Tests.Infrastructure;

/// <summary>
/// Tests that start solver processes run one at a time: two cores cannot host several 2-rank jobs at
/// once without turning timing-dependent steering into a lottery.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MpiCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Solver processes";
}
