using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Intake;

/// <summary>
/// Issue 21's intake findings as a user meets them: a real job (the abortable waiter) and a second process
/// that writes and replaces the notifications file.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class IntakeFaultJobTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _service = Repo.NewTempFolder("fault-job");

    public void Dispose() => Directory.Delete(_service, recursive: true);

    private string Notifications => Path.Combine(_service, "notifications.txt");

    private static string Waiter => Repo.Output("examples/AbortableWaiter", "AbortableWaiter");

    [Fact]
    public void FileMovedAwayTruncatedAndReplacedInOneGo_LaterAbortStillEndsTheJob()
    {
        using var job = RunningProcess.Dotnet(Waiter, ["--service", _service, "--poll-ms", "1000", "--change-notifications", "off", "--status-ms", "100", "--steps", "1200", "--step-ms", "50"]);
        ServiceFiles.WaitForFile(Path.Combine(_service, "status.html"), Timeout, () => job.Output);
        Notify.Append(Notifications, "EXTEND 1 #first");
        job.WaitForOutput("command received seq=1 id=first", Timeout);

        // In one go, between two polls: move the file away, truncate the moved file, write a new one with two commands.
        using (var shell = RunningProcess.Start("/bin/sh", ["-c", "mv \"$1\" \"$1.moved\" && : > \"$1.moved\" && printf 'EXTEND 1 #a\\nEXTEND 1 #b\\n' > \"$1\"", "sh", Notifications]))
        {
            Assert.Equal(0, shell.WaitForExit(Timeout));
        }

        job.WaitForOutput("command received seq=3 id=b", Timeout);
        Notify.Append(Notifications, "ABORT #x");

        Assert.Equal(3, job.WaitForExit(Timeout));
        Assert.Equal("ABORTED", Notify.ReadResult(_service)["outcome"]);
        Assert.Contains("command received seq=2 id=a", job.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("EndOfStreamException", job.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void SymlinkedNotificationsFile_IsRefusedWithOneLogLine_AndItsTargetIsNeverRead()
    {
        var elsewhere = Repo.NewTempFolder("fault-job-target");
        try
        {
            var target = Path.Combine(elsewhere, "thesis.txt");
            File.WriteAllText(target, "my thesis\n");
            File.CreateSymbolicLink(Notifications, target);
            using var job = RunningProcess.Dotnet(Waiter, ["--service", _service, "--poll-ms", "20", "--status-ms", "100", "--steps", "60", "--step-ms", "50"]);
            ServiceFiles.WaitForFile(Path.Combine(_service, "status.html"), Timeout, () => job.Output);
            File.AppendAllText(target, "ABORT\n");

            Assert.Equal(0, job.WaitForExit(Timeout));
            Assert.Equal("CONVERGED", Notify.ReadResult(_service)["outcome"]);
            Assert.Single(job.Stdout.Split('\n'), l => l.Contains($"notifications: {Notifications} is a symbolic link, not a regular file; refused", StringComparison.Ordinal));
            Assert.DoesNotContain("command received", job.Stdout, StringComparison.Ordinal);
            Assert.Equal("my thesis\nABORT\n", File.ReadAllText(target));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }
}
