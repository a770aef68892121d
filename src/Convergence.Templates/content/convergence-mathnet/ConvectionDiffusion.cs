using Convergence.MathNet;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Double;
using MathNet.Numerics.LinearAlgebra.Double.Solvers;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace SparseSolve;

/// <summary>
/// The system: -Δu + w·∇u = 1 on the unit square, u = 0 on the boundary, five-point stencil with central
/// differences on an N×N interior grid (rows scaled by h²). Convection makes the matrix non-symmetric,
/// which is what BiCgStab is for. Replace <see cref="Matrix"/> and <see cref="Rhs"/> by your system.
/// </summary>
internal static class ConvectionDiffusion
{
    /// <summary>The whole problem as the job runs it.</summary>
    public static MathNetProblem CreateProblem(SystemOptions options)
    {
        IReadOnlyList<IIterationStopCriterion<double>> extra = options.SlowMilliseconds > 0
            ? [new SlowDownCriterion(TimeSpan.FromMilliseconds(options.SlowMilliseconds))]
            : [];
        return new MathNetProblem($"bicgstab {options.N}x{options.N}", Matrix(options.N, options.Wind), Rhs(options.N), new BiCgStab())
        {
            Preconditioner = new DiagonalPreconditioner(),
            ExtraCriteria = extra,
            OnSolved = solution => [("max_u", solution.Maximum().ToString("R", System.Globalization.CultureInfo.InvariantCulture))],
        };
    }

    /// <summary>The sparse matrix for n² unknowns; unknown k = j·n + i.</summary>
    public static SparseMatrix Matrix(int n, double wind)
    {
        var convection = wind / (2.0 * (n + 1));
        var entries = new List<(int, int, double)>(5 * n * n);
        for (var j = 0; j < n; j++)
        {
            for (var i = 0; i < n; i++)
            {
                var k = (j * n) + i;
                entries.Add((k, k, 4));
                if (i > 0)
                {
                    entries.Add((k, k - 1, -1 - convection));
                }

                if (i < n - 1)
                {
                    entries.Add((k, k + 1, -1 + convection));
                }

                if (j > 0)
                {
                    entries.Add((k, k - n, -1 - convection));
                }

                if (j < n - 1)
                {
                    entries.Add((k, k + n, -1 + convection));
                }
            }
        }

        return SparseMatrix.OfIndexed(n * n, n * n, entries);
    }

    /// <summary>The right-hand side: the unit source times h².</summary>
    public static Vector<double> Rhs(int n)
    {
        var h = 1.0 / (n + 1);
        return Vector<double>.Build.Dense(n * n, h * h);
    }
}
