using System.Globalization;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// Ranks that resolved different options are refused before the first iteration, on every rank, with one
/// line: real <c>mpirun</c> in MPMD form (<c>-np A cmd : -np B cmd</c>), each part with its own environment or
/// arguments, as ranks on different nodes may see them.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class MpiOptionAgreementTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    /// <summary>Each rank says how it ended, after its process exits: the refusal must reach every rank.</summary>
    private const string ReportExit = "dotnet \"$0\" \"$@\"; code=$?; echo \"rank exit $code\" >&2; exit $code";

    [Theory]
    [InlineData(MpiFamily.MpichAbi, 1, 1)]
    [InlineData(MpiFamily.MpichAbi, 2, 1)]
    [InlineData(MpiFamily.OpenMpi, 1, 1)]
    [InlineData(MpiFamily.OpenMpi, 1, 2)]
    public void AToleranceThatDiffersBeyondSixDigitsOnSomeRanks_EndsEveryRankWithExitCode2AndOneLine(MpiFamily mpi, int agreeing, int differing)
    {
        // Both print 1e-06 in the start line (six digits); only the values tell them apart.
        var service = Repo.NewTempFolder("agree-tolerance");
        using var job = Start(mpi, service, (agreeing, "1e-6", []), (differing, "1.0000001e-6", []));

        AssertRefusedOnEveryRank(mpi, job, agreeing + differing, service);
        Assert.Contains("tolerance=1E-06", job.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ASolverArgumentThatDiffersOnOneRank_EndsEveryRankWithExitCode2AndOneLine()
    {
        var service = Repo.NewTempFolder("agree-solver");
        using var job = Start(MpiFamily.MpichAbi, service, (1, "1e-6", ["--method", "jacobi"]), (1, "1e-6", ["--method", "sor"]));

        AssertRefusedOnEveryRank(MpiFamily.MpichAbi, job, 2, service);
    }

    private static RunningProcess Start(MpiFamily mpi, string service, params (int Ranks, string Tolerance, string[] Arguments)[] parts)
    {
        // Open MPI's mpirun kills the other ranks when the first exits non-zero; told not to, it lets each
        // rank report how it ended (and then exits 0 itself).
        var launcher = mpi == MpiFamily.OpenMpi ? new[] { "mpirun.openmpi", "--oversubscribe", "--mca", "orte_abort_on_non_zero_status", "0" } : ["mpirun.mpich"];
        var arguments = new List<string>(launcher.Skip(1));
        foreach (var (ranks, tolerance, solverArguments) in parts)
        {
            if (arguments.Count > launcher.Length - 1)
            {
                arguments.Add(":");
            }

            arguments.AddRange(["-np", ranks.ToString(CultureInfo.InvariantCulture), "env", $"CONVERGENCE_TOLERANCE={tolerance}", "sh", "-c", ReportExit, Poisson,
                "--service", service, "--n", "48", .. solverArguments]);
        }

        return RunningProcess.Start(launcher[0], arguments, RunningProcess.MpiEnvironment(mpi).ToDictionary());
    }

    private static void AssertRefusedOnEveryRank(MpiFamily mpi, RunningProcess job, int ranks, string service)
    {
        // Generous for a loaded machine; a rank left waiting in a collective would hit it.
        var exit = job.WaitForExit(TimeSpan.FromSeconds(90));
        var lines = job.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        // MPICH's hydra exits with the ranks' code; Open MPI's mpirun, told to let every rank finish, with 0.
        Assert.True(exit == (mpi == MpiFamily.OpenMpi ? 0 : 2), $"exit {exit}\n{job.Output}");
        Assert.True(lines.Count(l => l == "rank exit 2") == ranks, job.Output);
        Assert.Single(lines, l => l.StartsWith("convergence: the ranks resolved different options", StringComparison.Ordinal));
        Assert.DoesNotContain("start job=", job.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(service, "result.txt")), job.Output);
    }
}
