using Convergence.Solver;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.MathNet;

/// <summary>How a steered MathNet solve ended.</summary>
/// <param name="Run">The framework's view: outcome, iterations, true relative residual, tolerance in force; also in result.txt.</param>
/// <param name="MathNetStatus">The status MathNet's <see cref="Iterator{T}"/> ended with.</param>
public sealed record SteeredSolveResult(RunResult Run, IterationStatus MathNetStatus);
