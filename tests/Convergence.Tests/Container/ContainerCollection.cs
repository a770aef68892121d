namespace Convergence.Tests.Container;

/// <summary>
/// The tests that run the real image under a real container runtime (Charliecloud's <c>ch-run</c>):
/// one at a time (each runs 2-rank jobs), sharing the images <see cref="ContainerImages"/> builds once.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContainerCollection : ICollectionFixture<ContainerImages>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Container images";
}
