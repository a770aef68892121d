using System.Globalization;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Examples;

/// <summary>The BiCgStab example as a user runs it: <c>dotnet BiCgStab.dll --service DIR ...</c>, a real process.</summary>
[Collection(MpiCollection.Name)]
public sealed class BiCgStabExampleTests : SteerableExampleContract
{
    public BiCgStabExampleTests()
        : base("bicgstab-example")
    {
    }

    protected override string Dll => Repo.Output("examples/BiCgStab", "BiCgStab");

    protected override string[] SmallRun => ["--n", "16", "--tolerance", "1e-9"];

    /// <summary>40×40 at 20 ms per iteration: over 2 s to 1e-13 unsteered.</summary>
    protected override string[] LongRun => ["--n", "40", "--tolerance", "1e-13", "--slow-ms", "20"];

    protected override (string[] Arguments, string Error) BadOption =>
        (["--method", "cg"], "--method: 'cg' is not one of bicgstab, gpbicg, tfqmr, mlkbicgstab");

    [Fact]
    public void Output_IsVtkImageData_NamedInTheResult()
    {
        var vtk = Path.Combine(Service, "u.vtk");
        using var job = Start(["--n", "16", "--tolerance", "1e-9", "--output", vtk]);

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(Service);
        Assert.Equal("256", result["unknowns"]);
        Assert.True(double.Parse(result["residual"], CultureInfo.InvariantCulture) < 1e-9, job.Output);
        Assert.Equal(Path.GetFullPath(vtk), result["output"]);
        var lines = File.ReadAllLines(vtk);
        Assert.Equal("DATASET STRUCTURED_POINTS", lines[3]);
        Assert.Equal("DIMENSIONS 16 16 1", lines[4]);
        Assert.Equal(10 + 256, lines.Length);

        // -Δu + w·∇u = 1 with u = 0 on the boundary has a positive solution.
        Assert.All(lines.Skip(10), v => Assert.True(double.Parse(v, CultureInfo.InvariantCulture) > 0, v));
    }

    [Theory]
    [InlineData("gpbicg", "none")]
    [InlineData("tfqmr", "diagonal")]
    [InlineData("mlkbicgstab", "ilu0")]
    [InlineData("bicgstab", "ilu0")]
    public void OtherMathNetSolversAndPreconditioners_RunToConvergence(string method, string preconditioner)
    {
        using var job = Start(["--n", "12", "--tolerance", "1e-8", "--method", method, "--preconditioner", preconditioner]);

        Assert.Equal(0, job.WaitForExit(Timeout));
        Assert.Equal("CONVERGED", Notify.ReadResult(Service)["outcome"]);
    }

    [Fact]
    public void Abort_ReachesMathNetAsCancelled()
    {
        using var job = StartListening(LongRun);
        Notify.Append(Notifications, "ABORT");

        Assert.Equal(3, job.WaitForExit(Timeout));
        Assert.Equal("Cancelled", Notify.ReadResult(Service)["mathnet_status"]);
    }

    [Fact]
    public void ChangeTolerance_ConvergesAtTheNewTolerance()
    {
        using var job = StartListening(LongRun);
        Notify.Append(Notifications, "CHANGE_TOLERANCE=1e-6");

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(Service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("1E-06", result["tolerance"]);
        Assert.True(double.Parse(result["residual"], CultureInfo.InvariantCulture) < 1e-6, job.Output);
    }

    [Fact]
    public void Stagnation_EndsTheMathNetSolveStagnated_WithExitCode6AndTheReason()
    {
        // Improving by 99.99 % every 2 iterations is out of reach: the test ends the solve long before 1e-13.
        using var job = Start(["--n", "24", "--tolerance", "1e-13", "--stagnation", "2:0.9999"]);

        Assert.Equal(6, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(Service);
        Assert.Equal("STAGNATED", result["outcome"]);
        Assert.Contains("not converging at this rate", result["message"], StringComparison.Ordinal);
        Assert.True(double.Parse(result["residual"], CultureInfo.InvariantCulture) > 1e-13, job.Output);
    }

    [Fact]
    public void RelativeTolerance_IsRefusedForAMathNetSolve_InOneLineWithExitCode2()
    {
        using var job = Start(["--n", "8", "--relative-tolerance"]);

        Assert.Equal(2, job.WaitForExit(Timeout));
        Assert.Contains("--relative-tolerance is not available for a MathNet.Numerics solve", job.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", job.Output, StringComparison.Ordinal);
    }
}
