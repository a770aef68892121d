using Convergence.Commands;
using Convergence.Hosting;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>Rank 0's services started and stopped as a unit, for loops the framework does not own.</summary>
public sealed class ServiceHostTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly string _service = Repo.NewTempFolder("service-host");
    private readonly StringWriter _output = new();
    private readonly JobLog _log;

    public ServiceHostTests() => _log = new JobLog(writer: TextWriter.Synchronized(_output));

    private RunOptions Options => new()
    {
        ServiceDirectory = _service,
        PollInterval = TimeSpan.FromMilliseconds(50),
        StatusInterval = TimeSpan.FromMilliseconds(100),
        Tolerance = 1e-3,
    };

    private string Log
    {
        get
        {
            _log.Flush();
            return _output.ToString();
        }
    }

    [Fact]
    public void Start_WithACustomCommandThatClashes_ThrowsAndLeavesNoFileOpen()
    {
        // The notifications file exists, so a tail opened before the command list is checked would hold it.
        var notifications = Path.Combine(_service, "notifications.txt");
        File.WriteAllText(notifications, "STOP #before\n");
        var clash = new CustomCommand("STOP", "STOP", "clashes with the built-in STOP");

        var ex = Assert.Throws<ArgumentException>(() => ServiceHost.Start(Options, _log, "own-loop", [clash]));

        Assert.Contains("clashes with a built-in command", ex.Message, StringComparison.Ordinal);
        // Right after the throw, before any finaliser could close a leaked handle: this process's descriptors.
        Assert.Empty(OpenDescriptorsOf(notifications));
    }

    [Fact]
    public void Start_WritesPlaceholderAndPage_FinishWritesResultAndDeclinesLateCommands()
    {
        using var host = ServiceHost.Start(Options with { JobName = "host-test" }, _log, "own-loop");
        Assert.Equal(ResultFile.Unset, Notify.ReadResult(_service)["outcome"]);
        ServiceFiles.WaitForFile(Path.Combine(_service, "status.html"), Timeout);

        Notify.Append(Path.Combine(_service, "notifications.txt"), "STOP #late");
        ServiceFiles.WaitUntil(() => host.Intake is { IsEmpty: false }, Timeout, () => Log);
        host.Live.Record(5, 5, 0.5, 1e-3);
        host.Finish(
            new RunResult(RunOutcome.IterationLimit, 5, 5, 0.5, 1e-3, TimeSpan.FromSeconds(1), 0, "limit"),
            [("solution", "/scratch/x.vtk")]);

        var result = Notify.ReadResult(_service);
        Assert.Equal("ITERATION_LIMIT", result["outcome"]);
        Assert.Equal("host-test", result["job"]);
        Assert.Equal("/scratch/x.vtk", result["solution"]);
        Assert.Equal("4", result["exit_code"]);
        Assert.Contains("start job=host-test solver=own-loop ranks=1 (single process)", Log, StringComparison.Ordinal);
        Assert.Contains("command rejected seq=1 id=late reason=\"the job ended before this command could be applied\"", Log, StringComparison.Ordinal);
        Assert.Contains("end outcome=ITERATION_LIMIT", Log, StringComparison.Ordinal);
        Assert.Contains("data-state=\"iteration limit\"", File.ReadAllText(Path.Combine(_service, "status.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void AContinuingChainLink_CarriesLateCommandsOver_AndTheNextLinkTakesThemInFirst()
    {
        string[] carried;
        using (var host = ServiceHost.Start(Options, _log, "own-loop"))
        {
            Notify.Append(Path.Combine(_service, "notifications.txt"), "CHANGE_TOLERANCE 1e-5 #late1\nSTOP #late2");
            ServiceFiles.WaitUntil(() => host.Journal.ReceivedCount == 2, Timeout, () => Log);
            host.CarryLateCommands = true;
            host.Finish(new RunResult(RunOutcome.Stopped, 5, 5, 0.5, 1e-3, TimeSpan.FromSeconds(1), 0, "deadline"), pageState: Convergence.Status.JobState.WaitingForAllocation);
            carried = [.. host.CarriedCommands];
        }

        Assert.Equal(["CHANGE_TOLERANCE 1e-5 #late1", "STOP #late2"], carried);
        Assert.Contains("command carried-over seq=1 id=late1", Log, StringComparison.Ordinal);
        Assert.DoesNotContain("command rejected", Log, StringComparison.Ordinal);

        // The next link, in a fresh service folder: the carried commands come first, as if just read.
        var next = Repo.NewTempFolder("service-host-next");
        using var nextHost = ServiceHost.Start(Options with { ServiceDirectory = next }, _log, "own-loop", null, 1, "single process", null, carried);
        ServiceFiles.WaitUntil(() => nextHost.Journal.ReceivedCount == 2, Timeout, () => Log);
        Assert.True(nextHost.Intake!.TryDequeue(out var first));
        Assert.Equal(1e-5, first.Command.Value);
        Assert.Equal("late1", first.Command.ClientId);
        Assert.True(nextHost.Intake.TryDequeue(out var second));
        Assert.Equal("late2", second.Command.ClientId);
    }

    [Fact]
    public void Fail_WritesAFailedResultWithTheError()
    {
        using (var host = ServiceHost.Start(Options, _log, "own-loop"))
        {
            host.Fail("InvalidOperationException: matrix is singular");
        }

        var result = Notify.ReadResult(_service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("InvalidOperationException: matrix is singular", result["message"]);
        Assert.Contains("data-state=\"failed\"", File.ReadAllText(Path.Combine(_service, "status.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void Finish_AfterAResume_TheEndLinesRateCountsOnlyTheIterationsRunInThisJob()
    {
        // Resumed at total 9000, ran 1000 more in 4 s: 250 it/s, not 10000 / 4.
        var result = new RunResult(RunOutcome.Converged, 1000, 10_000, 1e-9, 1e-6, TimeSpan.FromSeconds(4), 0, "converged")
        {
            StartTotalIterations = 9000,
        };
        using (var host = ServiceHost.Start(Options, _log, "own-loop"))
        {
            host.Finish(result);
        }

        var end = Assert.Single(Log.Split('\n'), l => l.Contains(" end outcome=", StringComparison.Ordinal));
        Assert.Contains(" total=10000 ", end, StringComparison.Ordinal);
        Assert.Contains(" elapsed=4s it/s=250 ", end, StringComparison.Ordinal);
    }

    [Fact]
    public void DisposeWithoutAResult_RecordsAFailure()
    {
        using (ServiceHost.Start(Options, _log, "own-loop"))
        {
        }

        var result = Notify.ReadResult(_service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Contains("without a result", result["message"], StringComparison.Ordinal);
    }

    [Fact]
    public void MessagesFromAnEarlierRun_AreSkippedAndReported()
    {
        File.WriteAllText(Path.Combine(_service, "notifications.txt"), "ABORT\nSTOP\n");
        using var host = ServiceHost.Start(Options, _log, "own-loop");
        host.Finish(new RunResult(RunOutcome.Converged, 1, 1, 1e-4, 1e-3, TimeSpan.Zero, 0, null));

        Assert.Contains("skipped 2 lines (11 bytes) left by an earlier run", Log, StringComparison.Ordinal);
        Assert.Equal(0, host.Journal.ReceivedCount);
        Assert.Equal("CONVERGED", Notify.ReadResult(_service)["outcome"]);
    }

    public void Dispose()
    {
        _log.Dispose();
        Directory.Delete(_service, recursive: true);
    }

    /// <summary>This process's open file descriptors that point at <paramref name="path"/> (Linux: /proc/self/fd).</summary>
    private static List<string> OpenDescriptorsOf(string path)
    {
        var target = Path.GetFullPath(path);
        var open = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget == target)
                {
                    open.Add(fd);
                }
            }
            catch (IOException)
            {
                // The descriptor closed while we looked (another test's file): not ours.
            }
        }

        return open;
    }
}
