namespace Convergence.Status;

/// <summary>One point of the residual history.</summary>
/// <param name="TotalIteration">Iteration over the whole run (the plot's x axis).</param>
/// <param name="Iteration">Iteration since the last (re)start.</param>
/// <param name="Residual">The global residual.</param>
/// <param name="Seconds">Wall time since the loop started.</param>
/// <param name="Restart">True for the first point after a restart (the plot marks it).</param>
public readonly record struct ResidualPoint(long TotalIteration, long Iteration, double Residual, double Seconds, bool Restart);
