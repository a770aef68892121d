using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// The failure paths under real <c>mpirun</c> (MPICH): one FAILED result and page, written by rank 0 with its
/// journal and history, however many ranks fail and on whichever thread; the whole job ends, never hangs.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class MpiFailurePathTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    // Generous for a loaded machine: a hang hits it, the normal path takes a few seconds.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void EveryRankFailingAtOnce_GivesOneResultFromRank0WithItsJournal(int ranks)
    {
        var service = ServiceWithAppliedCommand("all-fail");
        using var job = Start(ranks, service, "--fail-rank", "all");

        Assert.Equal(1, job.WaitForExit(Bound));
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);

        // Deterministic: rank 0's own failure wins over the others', every time.
        Assert.Equal("0", result["failed_rank"]);
        Assert.Equal(Environment.MachineName, result["failed_host"]);
        Assert.Equal("rank 0: InvalidOperationException: injected failure at iteration 200 on rank 0 (--fail-at-iteration)", result["message"]);
        AssertRank0sFailedPage(service, job, "injected failure at iteration 200 on rank 0");
        Assert.DoesNotContain("writes the FAILED result itself", job.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3, "1,2", "2")]
    [InlineData(4, "1,2,3", "2, 3")]
    public void SeveralOtherRanksFailingAtOnce_Rank0RecordsTheLowestWithItsJournal(int ranks, string failing, string others)
    {
        var service = ServiceWithAppliedCommand("some-fail");
        using var job = Start(ranks, service, "--fail-rank", failing);

        Assert.Equal(1, job.WaitForExit(Bound));
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("1", result["failed_rank"]);
        Assert.Equal(Environment.MachineName, result["failed_host"]);
        Assert.Contains("injected failure at iteration 200 on rank 1", result["message"], StringComparison.Ordinal);
        AssertRank0sFailedPage(service, job, "injected failure at iteration 200 on rank 1");
        Assert.Contains($"rank 1 handed its failure to rank 0; FAILED result written (also failed: ranks {others})", job.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("writes the FAILED result itself", job.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(2, 0)]
    [InlineData(3, 2)]
    public void FailureOnABackgroundThread_IsWrittenAndTheMainThreadEndsTheJob(int ranks, int rank)
    {
        var service = ServiceWithAppliedCommand("thread-fail");
        using var job = Start(ranks, service, "--fail-rank", rank.ToString(CultureInfo.InvariantCulture), "--fail-on", "thread");

        Assert.Equal(1, job.WaitForExit(Bound));
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal(rank.ToString(CultureInfo.InvariantCulture), result["failed_rank"]);
        Assert.Equal($"rank {rank}: InvalidOperationException: injected failure at iteration 200 on rank {rank} (--fail-at-iteration) (on thread poisson-injected)", result["message"]);
        Assert.Contains($"convergence: rank {rank} failed on a background thread (poisson-injected)", job.Stderr, StringComparison.Ordinal);

        // The legal route: the main thread threw at its next sync and called MPI_Abort itself.
        Assert.Contains($"convergence: rank {rank} failed: System.InvalidOperationException: ending the job after a failure on a background thread", job.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("SIGKILL", job.Stderr, StringComparison.Ordinal);
        AssertRank0sFailedPage(service, job, $"injected failure at iteration 200 on rank {rank}");
    }

    [Fact]
    public void FailureOnABackgroundThreadWhileTheMainThreadIsStuck_EndsTheJobThroughTheWatchdog()
    {
        var service = Repo.NewTempFolder("stuck");
        var watch = Stopwatch.StartNew();
        using var job = Start(2, service, "--fail-rank", "1", "--fail-on", "thread-stuck");

        // The main thread sleeps for an hour: only the watchdog (10 s) can end this run.
        Assert.NotEqual(0, job.WaitForExit(Bound));
        Assert.True(watch.Elapsed < TimeSpan.FromMinutes(30), "the job waited for the stuck main thread");
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("1", result["failed_rank"]);
        Assert.Contains("convergence: rank 1: the main thread did not reach a boundary within 10 s after the failure; ending this process (SIGKILL)", job.Stderr, StringComparison.Ordinal);
        Assert.Equal("Failed", ReadStatus(service).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public void FailedPage_IsNotReplacedByARunningPageWhileCommandsKeepArriving()
    {
        var service = ServiceWithAppliedCommand("page-race");
        var notifications = Path.Combine(service, "notifications.txt");

        // A second process appends a line every few milliseconds for the whole run: the journal changes
        // all the time, so a reporter still running after the failure would write a "running" page.
        using var flood = RunningProcess.Start("/bin/sh", ["-c", "i=0; while [ $i -lt 3000 ]; do echo \"NOT_A_COMMAND $i\" >> \"$1\"; i=$((i+1)); sleep 0.005; done", "sh", notifications]);
        using var job = Start(2, service, "--fail-rank", "1", "--status-ms", "50", "--poll-ms", "5");

        Assert.Equal(1, job.WaitForExit(Bound));
        Thread.Sleep(500);
        Assert.False(flood.HasExited, "the appending process ended before the job did; the test proves nothing");
        var status = ReadStatus(service).RootElement;
        Assert.Equal("Failed", status.GetProperty("state").GetString());
        Assert.Contains(status.GetProperty("journal").EnumerateArray(), e => e.GetProperty("state").GetString() == "Rejected");

        // The journal on the page is bounded: the flood has pushed the early command out of it.
        AssertRank0sFailedPage(service, job, "injected failure at iteration 200 on rank 1", withCommand: false);
    }

    /// <summary>A service folder whose notifications file already holds a command, replayed at start: applied long before iteration 200.</summary>
    private static string ServiceWithAppliedCommand(string label)
    {
        var service = Repo.NewTempFolder(label);
        File.WriteAllText(Path.Combine(service, "notifications.txt"), "CHANGE_TOLERANCE 1e-13 #keep\n");
        return service;
    }

    private static RunningProcess Start(int ranks, string service, params string[] args) =>
        RunningProcess.MpiRun(ranks, Poisson, [
            "--service", service, "--n", "48", "--method", "jacobi", "--tolerance", "1e-12", "--replay-notifications", "on",
            "--slow-ms", "2", "--fail-at-iteration", "200", .. args]);

    private static JsonDocument ReadStatus(string service) => JsonDocument.Parse(File.ReadAllText(Path.Combine(service, "status.json")));

    /// <summary>The page and status.json are rank 0's: failed, with the error, its journal and its progress.</summary>
    private static void AssertRank0sFailedPage(string service, RunningProcess job, string error, bool withCommand = true)
    {
        using var status = ReadStatus(service);
        var root = status.RootElement;
        Assert.Equal("Failed", root.GetProperty("state").GetString());
        Assert.Contains(error, root.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(root.GetProperty("totalIterations").GetInt64() > 0, job.Output);
        var page = new AngleSharp.Html.Parser.HtmlParser().ParseDocument(File.ReadAllText(Path.Combine(service, "status.html")));
        Assert.Contains(error, page.Body!.TextContent, StringComparison.Ordinal);
        if (withCommand)
        {
            Assert.Contains(root.GetProperty("journal").EnumerateArray(), e => e.GetProperty("clientId").GetString() == "keep" && e.GetProperty("state").GetString() == "Applied");
            Assert.Contains("CHANGE_TOLERANCE 1e-13", page.Body.TextContent, StringComparison.Ordinal);
        }
    }
}
