using System.Globalization;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Examples;

/// <summary>The example solves the right problem: its error against u = sin(πx)sin(πy) is second order.</summary>
[Collection(MpiCollection.Name)]
public sealed class PoissonAccuracyTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Fact]
    public void ConvergedSolution_MatchesTheAnalyticSolutionToSecondOrder()
    {
        var coarse = MaxError(2, 31);
        var fine = MaxError(2, 63);

        // Halving h divides the error by four; the constant is π²/12 at the centre.
        Assert.InRange(coarse / fine, 3.6, 4.4);
        var h = 1.0 / 64;
        Assert.InRange(fine, 0.8 * h * h * Math.PI * Math.PI / 12, 1.2 * h * h * Math.PI * Math.PI / 12);
    }

    [Fact]
    public void SingleProcessAndTwoRanks_GiveTheSameSolution()
    {
        Assert.Equal(MaxError(1, 40), MaxError(2, 40), 12);
    }

    [Fact]
    public void Output_WritesOneVtkPiecePerRankAndAnIndexNamedInTheResult()
    {
        var service = Repo.NewTempFolder("vtk");
        var output = Path.Combine(service, "field");
        using var job = RunningProcess.MpiRun(2, Poisson, ["--service", service, "--n", "20", "--tolerance", "1e-8", "--output", output]);
        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(60)));

        var result = Notify.ReadResult(service);
        Assert.Equal(Path.Combine(output, "poisson.pvti"), result["solution"]);
        var index = System.Xml.Linq.XDocument.Load(result["solution"]);
        var pieces = index.Descendants("Piece").Select(p => (string)p.Attribute("Source")!).ToList();
        Assert.Equal(["poisson_0.vti", "poisson_1.vti"], pieces);

        // Every grid point 0..21 in both directions is covered, the centre value is close to 1.
        var values = new Dictionary<(int, int), double>();
        foreach (var piece in pieces)
        {
            var doc = System.Xml.Linq.XDocument.Load(Path.Combine(output, piece));
            var extent = ((string)doc.Descendants("Piece").Single().Attribute("Extent")!).Split(' ').Select(int.Parse).ToArray();
            var numbers = doc.Descendants("DataArray").Single().Value.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
                .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal((extent[1] - extent[0] + 1) * (extent[3] - extent[2] + 1), numbers.Length);
            var k = 0;
            for (var y = extent[2]; y <= extent[3]; y++)
            {
                for (var x = extent[0]; x <= extent[1]; x++)
                {
                    values[(x, y)] = numbers[k++];
                }
            }
        }

        Assert.Equal(22 * 22, values.Count);
        Assert.Equal(0, values[(0, 5)]);
        Assert.InRange(values[(10, 10)], 0.98, 1.0);
    }

    private static double MaxError(int ranks, int n)
    {
        var service = Repo.NewTempFolder("accuracy");
        string[] args = ["--service", service, "--n", n.ToString(CultureInfo.InvariantCulture), "--tolerance", "1e-11"];
        using var job = ranks == 1 ? RunningProcess.Dotnet(Poisson, ["--single-process", .. args]) : RunningProcess.MpiRun(ranks, Poisson, args);
        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(60)));
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        return double.Parse(result["max_error"], CultureInfo.InvariantCulture);
    }
}
