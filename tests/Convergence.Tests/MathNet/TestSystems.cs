using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Double;
using MathNet.Numerics.LinearAlgebra.Double.Solvers;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.Tests.MathNet;

/// <summary>Non-symmetric sparse systems for the adapter tests, built independently of the example's code.</summary>
public static class TestSystems
{
    /// <summary>Convection-diffusion on an n×n grid (five-point stencil, central convection), right-hand side 1.</summary>
    public static (SparseMatrix Matrix, Vector<double> Rhs) ConvectionDiffusion(int n, double wind)
    {
        var h = 1.0 / (n + 1);
        var c = wind * h / 2;
        var entries = new List<(int, int, double)>();
        for (var j = 0; j < n; j++)
        {
            for (var i = 0; i < n; i++)
            {
                var k = (j * n) + i;
                entries.Add((k, k, 4));
                if (i > 0)
                {
                    entries.Add((k, k - 1, -1 - c));
                }

                if (i < n - 1)
                {
                    entries.Add((k, k + 1, -1 + c));
                }

                if (j > 0)
                {
                    entries.Add((k, k - n, -1 - c));
                }

                if (j < n - 1)
                {
                    entries.Add((k, k + n, -1 + c));
                }
            }
        }

        return (SparseMatrix.OfIndexed(n * n, n * n, entries), Vector<double>.Build.Dense(n * n, 1.0));
    }

    /// <summary>A MathNet solver by name.</summary>
    public static IIterativeSolver<double> Solver(string name) => name switch
    {
        "bicgstab" => new BiCgStab(),
        "gpbicg" => new GpBiCg(),
        "tfqmr" => new TFQMR(),
        "mlkbicgstab" => new MlkBiCgStab(),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    /// <summary>Solves the way a MathNet user does without the framework; returns the solution, status and iteration count.</summary>
    public static (Vector<double> X, IterationStatus Status, int Iterations) PlainSolve(string solver, Matrix<double> a, Vector<double> b, double tolerance, int maxIterations)
    {
        var counter = new CountingCriterion();
        var iterator = new Iterator<double>(counter, new IterationCountStopCriterion<double>(maxIterations), new ResidualStopCriterion<double>(tolerance));
        var x = Vector<double>.Build.Dense(b.Count);
        Solver(solver).Solve(a, b, x, iterator, new UnitPreconditioner<double>());
        return (x, iterator.Status, counter.Highest);
    }

    /// <summary>Remembers the highest iteration number the solver reported; never stops anything.</summary>
    private sealed class CountingCriterion : IIterationStopCriterion<double>
    {
        public int Highest { get; private set; }

        public IterationStatus Status => IterationStatus.Continue;

        public IterationStatus DetermineStatus(int iterationNumber, Vector<double> solutionVector, Vector<double> sourceVector, Vector<double> residualVector)
        {
            Highest = Math.Max(Highest, iterationNumber);
            return IterationStatus.Continue;
        }

        public void Reset() => Highest = 0;

        public IIterationStopCriterion<double> Clone() => new CountingCriterion();
    }
}
