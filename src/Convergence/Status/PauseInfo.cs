namespace Convergence.Status;

/// <summary>A pause as the page shows it.</summary>
/// <param name="Iteration">The iteration every rank is held at.</param>
/// <param name="Since">When the pause began.</param>
/// <param name="ResumesAt">When it ends by itself (<c>PAUSE 15m</c>); null for "until RESUME".</param>
public sealed record PauseInfo(long Iteration, DateTimeOffset Since, DateTimeOffset? ResumesAt);
