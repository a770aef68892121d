namespace Convergence.Status;

/// <summary>One host of the job and the ranks on it.</summary>
/// <param name="Host">The host name.</param>
/// <param name="Ranks">Its ranks as ranges, e.g. <c>0-1,4</c>.</param>
public sealed record NodeRanks(string Host, string Ranks);
