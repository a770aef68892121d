using System.Globalization;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Examples;

/// <summary>The BiCgStab example as a user runs it: <c>dotnet BiCgStab.dll --service DIR ...</c>, a real process.</summary>
public sealed class BiCgStabExampleTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly string _service = Repo.NewTempFolder("bicgstab-example");

    private static string Dll => Repo.Output("examples/BiCgStab", "BiCgStab");

    [Fact]
    public void SmallSystem_RunsToConvergence_AndWritesResultStatusAndVtk()
    {
        var vtk = Path.Combine(_service, "u.vtk");
        using var job = RunningProcess.Dotnet(Dll, ["--service", _service, "--n", "16", "--tolerance", "1e-9", "--output", vtk]);

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(_service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("256", result["unknowns"]);
        Assert.True(double.Parse(result["residual"], CultureInfo.InvariantCulture) < 1e-9, job.Output);
        Assert.Equal(Path.GetFullPath(vtk), result["output"]);
        var lines = File.ReadAllLines(vtk);
        Assert.Equal("DATASET STRUCTURED_POINTS", lines[3]);
        Assert.Equal("DIMENSIONS 16 16 1", lines[4]);
        Assert.Equal(10 + 256, lines.Length);
        Assert.All(lines.Skip(10), v => Assert.True(double.Parse(v, CultureInfo.InvariantCulture) > 0, v));
        Assert.Contains("Converged", File.ReadAllText(Path.Combine(_service, "status.html")), StringComparison.Ordinal);
        Assert.Contains("end outcome=CONVERGED", job.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpbicg", "none")]
    [InlineData("tfqmr", "diagonal")]
    [InlineData("mlkbicgstab", "ilu0")]
    [InlineData("bicgstab", "ilu0")]
    public void OtherMathNetSolversAndPreconditioners_RunToConvergence(string method, string preconditioner)
    {
        using var job = RunningProcess.Dotnet(Dll, ["--service", _service, "--n", "12", "--tolerance", "1e-8", "--method", method, "--preconditioner", preconditioner]);

        Assert.Equal(0, job.WaitForExit(Timeout));
        Assert.Equal("CONVERGED", Notify.ReadResult(_service)["outcome"]);
    }

    [Fact]
    public void RunningSolve_AbortAppendedByTheService_EndsWithExitCode3()
    {
        using var job = StartSlow("1e-13");
        Notify.Append(Path.Combine(_service, "notifications.txt"), "ABORT #portal-7");

        Assert.Equal(3, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(_service);
        Assert.Equal("ABORTED", result["outcome"]);
        Assert.Equal("Cancelled", result["mathnet_status"]);
        Assert.Contains("command applied seq=1 id=portal-7", job.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void RunningSolve_ChangeToleranceAppendedByTheService_ConvergesAtTheNewTolerance()
    {
        using var job = StartSlow("1e-13");
        Notify.Append(Path.Combine(_service, "notifications.txt"), "CHANGE_TOLERANCE=1e-6");

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(_service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("1E-06", result["tolerance"]);
        Assert.True(double.Parse(result["residual"], CultureInfo.InvariantCulture) < 1e-6, job.Output);
    }

    [Fact]
    public void BadOption_IsOneLineError_ExitCode2()
    {
        using var job = RunningProcess.Dotnet(Dll, ["--service", _service, "--method", "cg"]);

        Assert.Equal(2, job.WaitForExit(Timeout));
        var error = job.Stderr.Trim();
        Assert.DoesNotContain('\n', error);
        Assert.Contains("--method: 'cg' is not one of bicgstab, gpbicg, tfqmr, mlkbicgstab", error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_service, recursive: true);

    /// <summary>A 40×40 solve slowed to 20 ms per iteration (over 2 s unsteered); returns once it listens for messages.</summary>
    private RunningProcess StartSlow(string tolerance)
    {
        var job = RunningProcess.Dotnet(Dll, ["--service", _service, "--n", "40", "--tolerance", tolerance, "--slow-ms", "20", "--poll-ms", "50", "--status-ms", "100"]);
        ServiceFiles.WaitForFile(Path.Combine(_service, "status.html"), Timeout, () => job.Output);
        return job;
    }
}
