using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Examples;

/// <summary>
/// What every example must do, as the service runs it (a real process, messages appended by another
/// process). Each example's test class inherits these and adds its own.
/// </summary>
public abstract class SteerableExampleContract : IDisposable
{
    /// <summary>Generous: the machine is shared; a passing run takes a few seconds.</summary>
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);

    protected SteerableExampleContract(string label) => Service = Repo.NewTempFolder(label);

    /// <summary>This test's service folder.</summary>
    protected string Service { get; }

    protected string Notifications => Path.Combine(Service, "notifications.txt");

    /// <summary>The example's DLL.</summary>
    protected abstract string Dll { get; }

    /// <summary>Arguments (besides <c>--service</c>) for a run that converges within a second or two.</summary>
    protected abstract string[] SmallRun { get; }

    /// <summary>Arguments for a run that lasts well over 5 s unless steered.</summary>
    protected abstract string[] LongRun { get; }

    /// <summary>A bad example option and a part of the one-line error it must cause.</summary>
    protected abstract (string[] Arguments, string Error) BadOption { get; }

    [Fact]
    public void SmallRun_Converges_AndWritesResultAndStatusPage()
    {
        using var job = Start(SmallRun);

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(Service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("0", result["exit_code"]);
        var page = File.ReadAllText(Path.Combine(Service, "status.html"));
        Assert.Contains("<head>", page, StringComparison.Ordinal);
        Assert.Contains("data-state=\"converged\"", page, StringComparison.Ordinal);
        Assert.Contains("end outcome=CONVERGED", job.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Abort_EndsTheRun_WithExitCode3()
    {
        using var job = StartListening(LongRun);
        Notify.Append(Notifications, "ABORT #contract");

        Assert.Equal(3, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(Service);
        Assert.Equal("ABORTED", result["outcome"]);
        Assert.Contains("ABORT received", result["message"], StringComparison.Ordinal);
        Assert.Contains("command applied seq=1 id=contract", job.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Stop_EndsTheRunCleanly_WithExitCode0()
    {
        using var job = StartListening(LongRun);
        Notify.Append(Notifications, "stop");

        Assert.Equal(0, job.WaitForExit(Timeout));
        Assert.Equal("STOPPED", Notify.ReadResult(Service)["outcome"]);
    }

    [Fact]
    public void AChangeOfTolerance_IsInTheResultsRecordOfChanges()
    {
        using var job = StartListening(LongRun);
        Notify.Append(Notifications, "CHANGE_TOLERANCE 1e-30 #t1\nSTOP");

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(Service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("1", result["changes"]);
        Assert.Matches(@"^tolerance \S+ -> 1E-30 at iteration \d+ \(total \d+\) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ #t1$", result["change_1"]);
    }

    [Fact]
    public void BadOption_IsAOneLineError_WithExitCode2()
    {
        var (arguments, error) = BadOption;
        using var job = Start(arguments);

        Assert.Equal(2, job.WaitForExit(Timeout));
        var stderr = job.Stderr.Trim();
        Assert.DoesNotContain('\n', stderr);
        Assert.Contains(error, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void BadMessages_AreRejected_AndTheRunGoesOn()
    {
        using var job = StartListening(LongRun);
        Notify.Append(Notifications, "CHANGE_TOLERANCE minus-one\n<script>alert(1)</script>\nABORT");

        Assert.Equal(3, job.WaitForExit(Timeout));
        Assert.Contains("CHANGE_TOLERANCE needs a positive finite number", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("is not a command name", job.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert(1)", File.ReadAllText(Path.Combine(Service, "status.html")), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Removes the service folder; an example's test class that owns more overrides this and calls it.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Directory.Delete(Service, recursive: true);
        }
    }

    protected RunningProcess Start(IEnumerable<string> arguments) =>
        RunningProcess.Dotnet(Dll, ["--service", Service, .. arguments]);

    /// <summary>Starts a run and returns once its status page exists: from then on every message is heard.</summary>
    protected RunningProcess StartListening(IEnumerable<string> arguments)
    {
        var job = Start(["--poll-ms", "50", "--status-ms", "100", .. arguments]);
        ServiceFiles.WaitForFile(Path.Combine(Service, "status.html"), Timeout, () => job.Output);
        return job;
    }
}
