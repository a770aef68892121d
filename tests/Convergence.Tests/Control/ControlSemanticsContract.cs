using System.Globalization;
using System.Text.RegularExpressions;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// The control semantics every coordinator must honour, run against the real Poisson example as a
/// real process; a second process appends the commands. Derived classes choose single process or MPI.
/// </summary>
public abstract partial class ControlSemanticsContract
{
    /// <summary>How many ranks the derived class runs.</summary>
    protected abstract int Ranks { get; }

    /// <summary>Starts the example with <paramref name="args"/> and the given service folder.</summary>
    protected abstract RunningProcess StartJob(string service, params string[] args);

    protected static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Fact]
    public void Abort_StopsEveryRankAtTheSameIteration()
    {
        var service = Repo.NewTempFolder("abort");
        using var job = StartJob(service, "--n", "48", "--method", "jacobi", "--slow-ms", "2", "--progress-ms", "100");
        WaitForIteration(job, 20);
        Notify.Append(Path.Combine(service, "notifications.txt"), "ABORT #t1");

        Assert.Equal(3, job.WaitForExit(TimeSpan.FromSeconds(60)));
        var result = Notify.ReadResult(service);
        Assert.Equal("ABORTED", result["outcome"]);
        var ends = EndLines(job.Stdout);
        Assert.Equal(Ranks, ends.Count);
        Assert.All(ends, e => Assert.Equal(("ABORTED", result["iteration"], result["total_iterations"]), e));
        Assert.Matches(@"command applied seq=1 id=t1 iteration=\d+", job.Stdout);
    }

    [Fact]
    public void ChangeTolerance_ConvergesEarlyWithTheNewToleranceInTheResult()
    {
        var service = Repo.NewTempFolder("tolerance");
        using var job = StartJob(service, "--n", "48", "--method", "jacobi", "--tolerance", "1e-12", "--slow-ms", "2", "--progress-ms", "100");
        WaitForIteration(job, 20);
        Notify.Append(Path.Combine(service, "notifications.txt"), "CHANGE_TOLERANCE 0.05");

        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(60)));
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal(0.05, double.Parse(result["tolerance"], CultureInfo.InvariantCulture));
        Assert.True(double.Parse(result["residual"], CultureInfo.InvariantCulture) < 0.05, job.Output);
        Assert.All(EndLines(job.Stdout), e => Assert.Equal(("CONVERGED", result["iteration"], result["total_iterations"]), e));

        // A clean end leaves a clean log: no MPI teardown noise such as yaksa's leaked-handle warning.
        Assert.DoesNotContain("yaksa", job.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(string.Empty, job.Stderr);
    }

    [Fact]
    public void Restart_ResetsTheIterationCountAndStillConvergesToTheRightAnswer()
    {
        var service = Repo.NewTempFolder("restart");
        using var job = StartJob(service, "--n", "48", "--method", "sor", "--tolerance", "1e-9", "--slow-ms", "10", "--progress-ms", "100");
        WaitForIteration(job, 10);
        Notify.Append(Path.Combine(service, "notifications.txt"), "RESTART");

        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(90)));
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("1", result["restarts"]);
        var iteration = long.Parse(result["iteration"], CultureInfo.InvariantCulture);
        var total = long.Parse(result["total_iterations"], CultureInfo.InvariantCulture);
        Assert.True(total >= iteration + 10, $"restart did not reset the count: iteration {iteration}, total {total}");

        // Second-order accuracy: the error against the exact solution is about h²π²/12 at the centre.
        var h = 1.0 / 49;
        var expected = h * h * Math.PI * Math.PI / 12;
        var error = double.Parse(result["max_error"], CultureInfo.InvariantCulture);
        Assert.InRange(error, 0.5 * expected, 1.5 * expected);
        Assert.All(EndLines(job.Stdout), e => Assert.Equal(("CONVERGED", result["iteration"], result["total_iterations"]), e));
    }

    [Fact]
    public void BadMessages_AreRejectedAndTheJobGoesOn()
    {
        var service = Repo.NewTempFolder("reject");
        using var job = StartJob(service, "--n", "48", "--method", "jacobi", "--slow-ms", "2", "--progress-ms", "100");
        WaitForIteration(job, 10);
        var file = Path.Combine(service, "notifications.txt");
        Notify.Append(file, "CHANGE_TOLERANCE -1");
        Notify.Append(file, "FROBNICATE now");
        Notify.Append(file, "STOP #end");

        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal("STOPPED", Notify.ReadResult(service)["outcome"]);
        Assert.Contains("command rejected seq=1 id=- reason=\"CHANGE_TOLERANCE needs a positive finite number", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("command rejected seq=2 id=- reason=\"unknown command 'FROBNICATE'", job.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"command applied seq=3 id=end iteration=\d+", job.Stdout);
    }

    /// <summary>Waits until the job's progress line reports at least <paramref name="iteration"/>.</summary>
    protected static void WaitForIteration(RunningProcess job, long iteration)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var last = ProgressLine().Matches(job.Stdout).LastOrDefault();
            if (last is not null && long.Parse(last.Groups[1].Value, CultureInfo.InvariantCulture) >= iteration)
            {
                return;
            }

            if (job.HasExited)
            {
                throw new InvalidOperationException($"job ended before iteration {iteration}\n{job.Output}");
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException($"job did not reach iteration {iteration} in 60 s\n{job.Output}");
    }

    /// <summary>Every rank's end line: (outcome, iteration, total).</summary>
    protected static List<(string Outcome, string Iteration, string Total)> EndLines(string stdout) =>
        EndLine().Matches(stdout).Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value)).ToList();

    [GeneratedRegex(@"progress iteration=(\d+)")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@" end outcome=(\w+) iteration=(\d+) total=(\d+)")]
    private static partial Regex EndLine();
}
