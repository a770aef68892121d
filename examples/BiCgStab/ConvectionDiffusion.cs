using Convergence.MathNet;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Double;
using MathNet.Numerics.LinearAlgebra.Double.Solvers;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.Examples.BiCgStab;

/// <summary>
/// The system: <c>-Δu + w·∇u = 1</c> on the unit square, <c>u = 0</c> on the boundary, five-point stencil
/// with central differences on an N×N interior grid (rows scaled by h²). Convection makes the matrix
/// non-symmetric, which is what BiCgStab is for; <c>--wind 0</c> gives the Poisson matrix.
/// </summary>
public static class ConvectionDiffusion
{
    /// <summary>The sparse matrix for <paramref name="n"/>² unknowns, unknown <c>k = j·n + i</c>.</summary>
    public static SparseMatrix Matrix(int n, double wind)
    {
        var h = 1.0 / (n + 1);
        var convection = wind * h / 2;
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

    /// <summary>The MathNet solver for a <c>--method</c> name.</summary>
    public static IIterativeSolver<double> Solver(string method) => method.ToLowerInvariant() switch
    {
        "gpbicg" => new GpBiCg(),
        "tfqmr" => new TFQMR(),
        "mlkbicgstab" => new MlkBiCgStab(),
        _ => new global::MathNet.Numerics.LinearAlgebra.Double.Solvers.BiCgStab(),
    };

    /// <summary>The preconditioner for a <c>--preconditioner</c> name; null for none.</summary>
    public static IPreconditioner<double>? Preconditioner(string name) => name.ToLowerInvariant() switch
    {
        "diagonal" => new DiagonalPreconditioner(),
        "ilu0" => new ILU0Preconditioner(),
        _ => null,
    };

    /// <summary>The whole problem as the job runs it.</summary>
    public static MathNetProblem CreateProblem(ExampleOptions o)
    {
        IReadOnlyList<IIterationStopCriterion<double>> extra = o.SlowMs > 0 ? [new SlowDownCriterion(TimeSpan.FromMilliseconds(o.SlowMs))] : [];
        return new MathNetProblem($"{o.Method} convection-diffusion {o.N}x{o.N}", Matrix(o.N, o.Wind), Rhs(o.N), Solver(o.Method))
        {
            Preconditioner = Preconditioner(o.Preconditioner),
            ExtraCriteria = extra,
            OnSolved = solution => o.Output is null ? [] : [("output", VtkImage.Write(o.Output, o.N, solution))],
        };
    }
}
