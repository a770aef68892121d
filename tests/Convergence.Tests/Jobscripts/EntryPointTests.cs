using System.Diagnostics;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Jobscripts;

/// <summary>
/// The SemWES entry point around stand-in solvers (small shell scripts) under the real <c>mpirun</c>:
/// whatever the solver does, the service folder ends with a result.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EntryPointTests
{
    [Fact]
    public void ACrashWithoutAResultBecomesAnAtomicFailedResultWithTheExitCode()
    {
        var folder = Repo.NewTempFolder("entry");
        var service = Path.Combine(folder, "service");
        var solver = Scripts.WriteFakeSolver(folder, "crash.sh", "exit 7");

        var (code, p) = Run(service, solver, 2);

        Assert.True(code == 7, p);
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("7", result["exit_code"]);
        Assert.Equal(["result.txt"], Directory.GetFiles(service).Select(Path.GetFileName));
        // The solver's mode (0666 less the umask), not mktemp's 0600: a portal reading as another user can.
        Container.ContainerRun.AssertReadableByOthers(service);
    }

    [Fact]
    public void ALauncherThatKillsEveryCopyAfterARankDied_StillLeavesAFailedResult()
    {
        // Rank 1 dies from a signal before any result, as in a failed MPI_Init: hydra then kills every
        // copy outright, this rank 0 entry point too, and no trap of it runs.
        var folder = Repo.NewTempFolder("entry");
        var service = Path.Combine(folder, "service");
        var solver = Scripts.WriteFakeSolver(folder, "die.sh", """if [ "${PMI_RANK:-0}" = 1 ]; then sleep 0.5; kill -SEGV $$; fi; sleep 60""");
        using var job = RunningProcess.MpiStart(Convergence.Mpi.MpiFamily.MpichAbi, 2, [Scripts.EntryPoint], new Dictionary<string, string?>
        {
            ["CONVERGENCE_SERVICE_DIR"] = service,
            ["CONVERGENCE_APP"] = solver,
        });

        var code = job.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.True(code != 0, job.Output);
        Assert.DoesNotContain("semwes-entrypoint: launcher exited", job.Stderr, StringComparison.Ordinal);
        var result = Container.ContainerRun.WaitForResult(service, job.Output);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Contains("the entry point was killed", result["message"], StringComparison.Ordinal);
        Container.ContainerRun.AssertReadableByOthers(service);
    }

    [Fact]
    public void AResultTheSolverWroteIsKeptAndItsExitCodePassedOn()
    {
        var folder = Repo.NewTempFolder("entry");
        var service = Path.Combine(folder, "service");
        var solver = Scripts.WriteFakeSolver(folder, "abort.sh",
            """[ "${PMI_RANK:-0}" = 0 ] && printf 'outcome=ABORTED\nexit_code=3\n' > "$CONVERGENCE_SERVICE_DIR/result.txt"; exit 3""");

        var (code, p) = Run(service, solver, 2);

        Assert.True(code == 3, p);
        Assert.Equal("ABORTED", Notify.ReadResult(service)["outcome"]);
    }

    [Fact]
    public void AStaleResultOfAnEarlierRunIsNeverTakenForThisRunsResult()
    {
        var folder = Repo.NewTempFolder("entry");
        var service = Path.Combine(folder, "service");
        Directory.CreateDirectory(service);
        File.WriteAllText(Path.Combine(service, "result.txt"), "outcome=CONVERGED\n");
        var solver = Scripts.WriteFakeSolver(folder, "crash.sh", "exit 9");

        var (code, p) = Run(service, solver, 1);

        Assert.True(code == 9, p);
        Assert.Equal("FAILED", Notify.ReadResult(service)["outcome"]);
    }

    [Fact]
    public void ASuccessfulExitWithoutAResultIsReportedAsAFailure()
    {
        var folder = Repo.NewTempFolder("entry");
        var service = Path.Combine(folder, "service");
        var solver = Scripts.WriteFakeSolver(folder, "silent.sh", "exit 0");

        var (code, p) = Run(service, solver, 1);

        Assert.True(code == 1, p);
        Assert.Equal("FAILED", Notify.ReadResult(service)["outcome"]);
    }

    [Fact]
    public void SolverArgumentsArePassedThroughUnchanged()
    {
        var folder = Repo.NewTempFolder("entry");
        var service = Path.Combine(folder, "service");
        var solver = Scripts.WriteFakeSolver(folder, "echo.sh",
            """printf 'outcome=CONVERGED\n' > "$CONVERGENCE_SERVICE_DIR/result.txt"; for a in "$@"; do printf '<%s>\n' "$a"; done""");

        var (code, p) = Run(service, solver, 1, "--n", "64", "two words", "--tolerance=1e-8");

        Assert.True(code == 0, p);
        Assert.Contains("<--n>\n<64>\n<two words>\n<--tolerance=1e-8>\n", p, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingSolverIsABadSetupWithAClearMessage()
    {
        var service = Path.Combine(Repo.NewTempFolder("entry"), "service");

        var (code, p) = Run(service, "/nonexistent/solver", 1);

        Assert.True(code == 2, p);
        Assert.Contains("solver /nonexistent/solver not found", p, StringComparison.Ordinal);
    }

    [Fact]
    public void TerminationByTheBatchSystemIsPassedOnAndStillLeavesAResult()
    {
        var folder = Repo.NewTempFolder("entry");
        var service = Path.Combine(folder, "service");
        var started = Path.Combine(folder, "started");
        var solver = Scripts.WriteFakeSolver(folder, "wait.sh", $"touch '{started}'\nsleep 60 & wait");
        using var entry = Start(service, solver, 1);
        WaitFor(() => File.Exists(started), entry);

        using (var kill = RunningProcess.Start("kill", ["-TERM", entry.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            Assert.Equal(0, kill.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        var code = entry.WaitForExit(TimeSpan.FromSeconds(20));
        Assert.True(code != 0, entry.Output);
        Assert.Contains("received TERM", entry.Stderr, StringComparison.Ordinal);
        var result = Notify.ReadResult(service);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal(code.ToString(System.Globalization.CultureInfo.InvariantCulture), result["exit_code"]);
    }

    private static RunningProcess Start(string service, string solver, int ranks, params string[] args) =>
        RunningProcess.Start(Scripts.EntryPoint, args, new Dictionary<string, string?>
        {
            ["CONVERGENCE_SERVICE_DIR"] = service,
            ["CONVERGENCE_APP"] = solver,
            ["CONVERGENCE_RANKS"] = ranks.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

    private static (int Code, string Output) Run(string service, string solver, int ranks, params string[] args)
    {
        using var p = Start(service, solver, ranks, args);
        var code = p.WaitForExit(TimeSpan.FromSeconds(30));
        return (code, p.Output);
    }

    private static void WaitFor(Func<bool> condition, RunningProcess process)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.False(process.HasExited, $"ended early\n{process.Output}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"condition not met within 20 s\n{process.Output}");
            Thread.Sleep(20);
        }
    }
}
