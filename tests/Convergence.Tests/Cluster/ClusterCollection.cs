using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cluster;

/// <summary>
/// The tests that run jobs across the namespace cluster: one at a time (like <see cref="MpiCollection"/>,
/// two cores cannot host several 4-rank jobs at once), sharing one cluster for the whole run.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<LocalCluster>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Local cluster";
}
