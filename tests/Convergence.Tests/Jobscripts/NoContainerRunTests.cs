using System.Runtime.Versioning;
using System.Text.Json;
using Convergence.Tests.Cli;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Jobscripts;

/// <summary>
/// The whole path a SemWES job takes, without a container runtime: the entry point runs the 2-rank
/// Poisson example with a host folder really bind-mounted at <c>/service</c> (private mount namespace),
/// and the real <c>convergence notify</c> steers it through the host folder.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(MpiCollection.Name)]
public sealed class NoContainerRunTests
{
    [Fact]
    public void TheEntryPointRunsTheExampleAtServiceAndANotifyFromTheHostStopsIt()
    {
        var dll = Repo.Output("examples/Poisson", "Poisson");
        var host = Repo.NewTempFolder("mounted");
        // Jacobi with a tiny tolerance and a pause per iteration: runs until told to stop.
        using var job = RunningProcess.Start(Scripts.WithoutContainer,
            ["--service", host, "--app", dll, "--ranks", "2", "--",
             "--n", "32", "--method", "jacobi", "--tolerance", "1e-14", "--slow-ms", "5", "--status-ms", "100", "--poll-ms", "50"]);

        var running = StatusJsonWait.Until(host, job, s => s.GetProperty("iteration").GetInt64() > 0, "its status showed progress", TimeSpan.FromSeconds(45));
        Assert.Contains(running.GetProperty("state").GetString(), new[] { "Running", "Converging" });

        var (notifyCode, _, notifyErr) = CliProcess.Run(["notify", "--service", host, "STOP #e2e"]);
        Assert.True(notifyCode == 0, notifyErr);

        var code = job.WaitForExit(TimeSpan.FromSeconds(45));
        Assert.True(code == 0, job.Output);

        // The solver used the default folder: only the mount made its files appear in the host folder.
        Assert.Contains("mounted at /service", job.Stderr, StringComparison.Ordinal);
        Assert.Contains("files notifications=/service/notifications.txt status=/service/status.html result=/service/result.txt", job.Stdout, StringComparison.Ordinal);
        Assert.Equal("STOPPED", Notify.ReadResult(host)["outcome"]);
        Assert.Contains("<head>", File.ReadAllText(Path.Combine(host, "status.html")), StringComparison.Ordinal);
        var final = JsonDocument.Parse(File.ReadAllText(Path.Combine(host, "status.json"))).RootElement;
        Assert.Equal("Stopped", final.GetProperty("state").GetString());
        var stop = Assert.Single(final.GetProperty("journal").EnumerateArray());
        Assert.Equal("Applied", stop.GetProperty("state").GetString());
        Assert.Equal("e2e", stop.GetProperty("clientId").GetString());
        Assert.DoesNotContain(Directory.GetFiles(host), f => Path.GetFileName(f).StartsWith('.'));
        Assert.DoesNotContain(" /service ", File.ReadAllText("/proc/self/mountinfo"), StringComparison.Ordinal);

        var (statusCode, statusOut, statusErr) = CliProcess.Run(["status", "--service", host]);
        Assert.True(statusCode == 0, statusErr);
        Assert.Matches(@"(?m)^state\s+Stopped$", statusOut);
        Assert.Contains("STOP #e2e: applied at iteration", statusOut, StringComparison.Ordinal);
        Assert.Contains("  outcome=STOPPED\n", statusOut, StringComparison.Ordinal);
    }
}
