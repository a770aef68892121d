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

    /// <summary>
    /// Interior grid points per side. Oversubscribed rank counts take a smaller grid: every sweep waits on
    /// every rank, and a rank that shares a core with a busy-polling one runs only a slice of the time.
    /// </summary>
    protected virtual int GridPoints => 48;

    /// <summary>How long a job may take to reach a point or to end before the test calls it hung.</summary>
    protected virtual TimeSpan Patience => TimeSpan.FromSeconds(60);

    private string Grid => GridPoints.ToString(CultureInfo.InvariantCulture);

    protected static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Fact]
    public void Abort_StopsEveryRankAtTheSameIteration()
    {
        var service = Repo.NewTempFolder("abort");
        using var job = StartJob(service, "--n", Grid, "--method", "jacobi", "--slow-ms", "2", "--progress-ms", "100");
        WaitForIteration(job, 20);
        Notify.Append(Path.Combine(service, "notifications.txt"), "ABORT #t1");

        Assert.Equal(3, job.WaitForExit(Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("ABORTED", result["outcome"]);
        var ends = EndLines(job.Stdout);
        Assert.Equal(Ranks, ends.Count);
        Assert.All(ends, e => Assert.Equal(("ABORTED", result["iteration"], result["total_iterations"]), e));
        Assert.Matches(@"command applied seq=1 id=t1 iteration=\d+", job.Stdout);
        Assert.Equal((result["iteration"], result["total_iterations"]), AppliedOnEveryRank(job, 1));
    }

    [Fact]
    public void ChangeTolerance_ConvergesEarlyWithTheNewToleranceInTheResult()
    {
        var service = Repo.NewTempFolder("tolerance");
        using var job = StartJob(service, "--n", Grid, "--method", "jacobi", "--tolerance", "1e-12", "--slow-ms", "2", "--progress-ms", "100");
        WaitForIteration(job, 20);

        // A little below the residual just reported: reached after a few more sweeps on any grid and at
        // any speed, never by the 1e-12 the job started with.
        var shown = double.Parse(ProgressLine().Matches(job.Stdout).Last().Groups[2].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        var typed = (shown * 0.97).ToString("0.###e+0", CultureInfo.InvariantCulture);
        Notify.Append(Path.Combine(service, "notifications.txt"), $"CHANGE_TOLERANCE {typed}");

        Assert.Equal(0, job.WaitForExit(Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        var tolerance = double.Parse(typed, NumberStyles.Float, CultureInfo.InvariantCulture);
        Assert.Equal(tolerance, double.Parse(result["tolerance"], CultureInfo.InvariantCulture));
        Assert.True(double.Parse(result["residual"], CultureInfo.InvariantCulture) < tolerance, job.Output);
        Assert.All(EndLines(job.Stdout), e => Assert.Equal(("CONVERGED", result["iteration"], result["total_iterations"]), e));
        AppliedOnEveryRank(job, 1);

        // A clean end leaves a clean log: no MPI teardown noise such as yaksa's leaked-handle warning.
        Assert.DoesNotContain("yaksa", job.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(string.Empty, job.Stderr);
    }

    [Fact]
    public void Restart_ResetsTheIterationCountAndStillConvergesToTheRightAnswer()
    {
        var service = Repo.NewTempFolder("restart");
        using var job = StartJob(service, "--n", Grid, "--method", "sor", "--tolerance", "1e-9", "--slow-ms", "10", "--progress-ms", "100");
        WaitForIteration(job, 10);
        Notify.Append(Path.Combine(service, "notifications.txt"), "RESTART");

        Assert.Equal(0, job.WaitForExit(Patience + TimeSpan.FromSeconds(30)));
        var result = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("1", result["restarts"]);
        var iteration = long.Parse(result["iteration"], CultureInfo.InvariantCulture);
        var total = long.Parse(result["total_iterations"], CultureInfo.InvariantCulture);
        Assert.True(total >= iteration + 10, $"restart did not reset the count: iteration {iteration}, total {total}");

        // Second-order accuracy: the error against the exact solution is about h²π²/12 at the centre.
        var h = 1.0 / (GridPoints + 1);
        var expected = h * h * Math.PI * Math.PI / 12;
        var error = double.Parse(result["max_error"], CultureInfo.InvariantCulture);
        Assert.InRange(error, 0.5 * expected, 1.5 * expected);
        Assert.All(EndLines(job.Stdout), e => Assert.Equal(("CONVERGED", result["iteration"], result["total_iterations"]), e));
        AppliedOnEveryRank(job, 1);
    }

    [Fact]
    public void BadMessages_AreRejectedAndTheJobGoesOn()
    {
        var service = Repo.NewTempFolder("reject");
        using var job = StartJob(service, "--n", Grid, "--method", "jacobi", "--slow-ms", "2", "--progress-ms", "100");
        WaitForIteration(job, 10);
        var file = Path.Combine(service, "notifications.txt");
        Notify.Append(file, "CHANGE_TOLERANCE -1");
        Notify.Append(file, "FROBNICATE now");
        Notify.Append(file, "STOP #end");

        Assert.Equal(0, job.WaitForExit(Patience));
        Assert.Equal("STOPPED", Notify.ReadResult(service)["outcome"]);
        Assert.Contains("command rejected seq=1 id=- reason=\"CHANGE_TOLERANCE needs a positive finite number", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("command rejected seq=2 id=- reason=\"unknown command 'FROBNICATE'", job.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"command applied seq=3 id=end iteration=\d+", job.Stdout);
        var result = Notify.ReadResult(service);
        Assert.Equal((result["iteration"], result["total_iterations"]), AppliedOnEveryRank(job, 3));
        var ends = EndLines(job.Stdout);
        Assert.Equal(Ranks, ends.Count);
        Assert.All(ends, e => Assert.Equal(("STOPPED", result["iteration"], result["total_iterations"]), e));
    }

    [Fact]
    public void CustomCommand_IsValidatedOnRank0AndAppliedByEveryRankAtTheSameIteration()
    {
        var service = Repo.NewTempFolder("custom");
        using var job = StartJob(service, "--n", Grid, "--method", "jacobi", "--tolerance", "1e-12", "--slow-ms", "2", "--progress-ms", "100");
        WaitForIteration(job, 10);
        var file = Path.Combine(service, "notifications.txt");
        Notify.Append(file, "RELAXATION 0.8 #w1");
        Notify.Append(file, "RELAXATION 7");
        Notify.Append(file, "STOP");

        Assert.Equal(0, job.WaitForExit(Patience));
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("0.8", result["relaxation"]);
        Assert.Contains("command rejected seq=2 id=- reason=\"RELAXATION: 7 is out of range (0, 1]\"", job.Stdout, StringComparison.Ordinal);
        var (iteration, total) = AppliedOnEveryRank(job, 1);
        Assert.Matches($@"command applied seq=1 id=w1 iteration={iteration} total={total} text=""RELAXATION 0.8 #w1""", job.Stdout);
        Assert.Equal((result["iteration"], result["total_iterations"]), AppliedOnEveryRank(job, 3));
        Assert.Equal(Ranks, EndLines(job.Stdout).Count);
    }

    /// <summary>Waits until the job's progress line reports at least <paramref name="iteration"/>.</summary>
    protected void WaitForIteration(RunningProcess job, long iteration)
    {
        var deadline = DateTime.UtcNow + Patience;
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

        throw new TimeoutException($"job did not reach iteration {iteration} in {Patience.TotalSeconds:0} s\n{job.Output}");
    }

    /// <summary>
    /// Asserts that every rank logged applying command <paramref name="sequence"/> (rank 0 in its journal
    /// line, every other rank in its own) and that all did so at the same iteration; returns it.
    /// </summary>
    protected (string Iteration, string Total) AppliedOnEveryRank(RunningProcess job, long sequence)
    {
        var lines = AppliedLine().Matches(job.Stdout)
            .Where(m => m.Groups["seq"].Value == sequence.ToString(CultureInfo.InvariantCulture))
            .Select(m => (Rank: m.Groups["rank"].Success ? int.Parse(m.Groups["rank"].Value, CultureInfo.InvariantCulture) : 0, Iteration: m.Groups["it"].Value, Total: m.Groups["total"].Value))
            .ToList();
        Assert.True(
            lines.Select(l => l.Rank).Order().SequenceEqual(Enumerable.Range(0, Ranks)),
            $"command seq={sequence}: applied lines from ranks [{string.Join(",", lines.Select(l => l.Rank).Order())}], expected each of 0..{Ranks - 1} once\n{job.Output}");
        var iterations = lines.Select(l => (l.Iteration, l.Total)).Distinct().ToList();
        Assert.True(iterations.Count == 1, $"command seq={sequence} applied at different iterations: {string.Join(", ", lines)}\n{job.Output}");
        return iterations[0];
    }

    /// <summary>Every rank's end line: (outcome, iteration, total).</summary>
    protected static List<(string Outcome, string Iteration, string Total)> EndLines(string stdout) =>
        EndLine().Matches(stdout).Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value)).ToList();

    [GeneratedRegex(@"progress iteration=(\d+) total=\d+ residual=(\S+)")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@"Z (?:\[rank (?<rank>\d+)\] )?command applied seq=(?<seq>\d+) id=\S+ iteration=(?<it>\d+) total=(?<total>\d+)")]
    private static partial Regex AppliedLine();

    [GeneratedRegex(@" end outcome=(\w+) iteration=(\d+) total=(\d+)")]
    private static partial Regex EndLine();
}
