namespace Convergence.Tests.Infrastructure;

/// <summary>The environment for MPI runs with more ranks than this machine has cores.</summary>
public static class Oversubscribed
{
    /// <summary>Settings for a run of <paramref name="ranks"/> ranks; none when the cores suffice.</summary>
    public static IDictionary<string, string?>? Environment(int ranks) =>
        ranks <= System.Environment.ProcessorCount ? null : new Dictionary<string, string?>();
}
