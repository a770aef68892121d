using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Examples;

/// <summary>The abortable waiter as the service runs it: a real process, messages appended by another process.</summary>
public sealed class AbortableWaiterExampleTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly string _service = Repo.NewTempFolder("waiter-example");

    private static string Dll => Repo.Output("examples/AbortableWaiter", "AbortableWaiter");

    private string Notifications => Path.Combine(_service, "notifications.txt");

    [Fact]
    public void FewShortSteps_RunToCompletion()
    {
        using var job = RunningProcess.Dotnet(Dll, ["--service", _service, "--steps", "3", "--step-ms", "50"]);

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(_service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("3", result["total_iterations"]);
        Assert.Equal("3", result["steps_waited"]);
        Assert.Equal("0", result["steps_left"]);
        Assert.Equal("abortable waiter", result["job"]);
        Assert.Contains("<head>", File.ReadAllText(Path.Combine(_service, "status.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void Abort_EndsTheWaitEarly_WithExitCode3()
    {
        using var job = StartLong();
        Notify.Append(Notifications, "ABORT");

        Assert.Equal(3, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(_service);
        Assert.Equal("ABORTED", result["outcome"]);
        Assert.True(long.Parse(result["total_iterations"], System.Globalization.CultureInfo.InvariantCulture) < 600, job.Output);
    }

    [Fact]
    public void Extend_AddsSteps_ThenStopEndsCleanly()
    {
        using var job = RunningProcess.Dotnet(Dll, ["--service", _service, "--steps", "100", "--step-ms", "20", "--poll-ms", "50"]);
        ServiceFiles.WaitForFile(Path.Combine(_service, "status.html"), Timeout, () => job.Output);
        Notify.Append(Notifications, "EXTEND 7 #more");
        Notify.Append(Notifications, "EXTEND -3");

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(_service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("107", result["total_iterations"]);
        Assert.Contains("command applied seq=1 id=more", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("EXTEND: '-3' is not a whole number of steps", job.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Stop_EndsCleanly_WithExitCode0()
    {
        using var job = StartLong();
        Notify.Append(Notifications, "stop");

        Assert.Equal(0, job.WaitForExit(Timeout));
        Assert.Equal("STOPPED", Notify.ReadResult(_service)["outcome"]);
    }

    public void Dispose() => Directory.Delete(_service, recursive: true);

    /// <summary>600 steps of 50 ms (30 s if nobody intervenes); returns once it listens for messages.</summary>
    private RunningProcess StartLong()
    {
        var job = RunningProcess.Dotnet(Dll, ["--service", _service, "--steps", "600", "--step-ms", "50", "--poll-ms", "50"]);
        ServiceFiles.WaitForFile(Path.Combine(_service, "status.html"), Timeout, () => job.Output);
        return job;
    }
}
