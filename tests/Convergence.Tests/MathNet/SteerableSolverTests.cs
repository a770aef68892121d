using Convergence.Commands;
using Convergence.MathNet;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Tests.Examples;
using Convergence.Tests.Infrastructure;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Double.Solvers;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.Tests.MathNet;

/// <summary>
/// The adapter in this process, steered through the notifications file by a second process (the way the
/// service appends), with MathNet's own solvers unchanged.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class SteerableSolverTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);

    [Theory]
    [InlineData("bicgstab")]
    [InlineData("gpbicg")]
    [InlineData("tfqmr")]
    public void NothingSent_SolutionEqualsMathNetsOwnSolve(string method)
    {
        const double tolerance = 1e-10;
        var (a, b) = TestSystems.ConvectionDiffusion(24, 20);
        var plain = TestSystems.PlainSolve(method, a, b, tolerance, 10_000);
        Assert.Equal(IterationStatus.Converged, plain.Status);

        using var job = new InProcessJob(method, new RunOptions { Tolerance = tolerance, MaxIterations = 10_000 });
        var x = Vector<double>.Build.Dense(b.Count);
        var steered = job.Solver(TestSystems.Solver(method)).Solve(a, b, x);

        Assert.Equal(IterationStatus.Converged, steered.MathNetStatus);
        Assert.Equal(RunOutcome.Converged, steered.Run.Outcome);
        var difference = (x - plain.X).InfinityNorm();
        Assert.True(difference <= 1e-12 * plain.X.InfinityNorm(), $"solutions differ by {difference:G3}");
        // The result reports the true residual. TFQMR may stop on its recurrence ("pseudo") residual, so
        // only the solvers that confirm with the true residual are held to the tolerance here.
        var trueResidual = SteerableSolver.RelativeResidual(a, b, x);
        Assert.Equal(trueResidual, steered.Run.Residual);
        if (method != "tfqmr")
        {
            Assert.True(trueResidual < tolerance, $"true residual {trueResidual:G3}");
        }

        var result = Notify.ReadResult(job.Service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("0", result["exit_code"]);
        Assert.Equal(tolerance, double.Parse(result["tolerance"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(b.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), result["unknowns"]);
    }

    [Fact]
    public async Task RunningBiCgStab_AbortFromSecondProcess_EndsCancelledBeforeConvergence()
    {
        var (a, b) = TestSystems.ConvectionDiffusion(40, 20);
        var plain = TestSystems.PlainSolve("bicgstab", a, b, 1e-12, 5000);

        using var job = new InProcessJob("abort", new RunOptions { Tolerance = 1e-12, MaxIterations = 5000 });
        var x = Vector<double>.Build.Dense(b.Count);
        var solver = job.Solver(new BiCgStab(), slowMs: 20);
        var solve = Task.Run(() => solver.Solve(a, b, x));
        job.WaitUntilListening(solve);
        Notify.Append(job.Notifications, "ABORT #abort-1");

        var steered = await solve.WaitAsync(Timeout);
        Assert.Equal(IterationStatus.Cancelled, steered.MathNetStatus);
        Assert.Equal(RunOutcome.Aborted, steered.Run.Outcome);
        Assert.Equal(ExitCodes.Aborted, steered.Run.ExitCode);
        Assert.True(steered.Run.Iteration < plain.Iterations, $"aborted at {steered.Run.Iteration}, a full solve takes {plain.Iterations}");

        var result = Notify.ReadResult(job.Service);
        Assert.Equal("ABORTED", result["outcome"]);
        Assert.Equal("3", result["exit_code"]);
        Assert.Contains("ABORT received", result["message"], StringComparison.Ordinal);
        Assert.Contains("command applied seq=1 id=abort-1", job.Log, StringComparison.Ordinal);
        Assert.Contains("data-state=\"aborted\"", File.ReadAllText(Path.Combine(job.Service, "status.html")), StringComparison.Ordinal);
    }

    // Looser, but not too loose: MathNet's BiCgStab restarts part of its recurrence whenever its provisional
    // check passes and the true residual does not, so a very loose tolerance (1e-4 here) can take more
    // iterations than 1e-13. 1e-6 is reached well before the strict solve ends.
    [Fact]
    public async Task RunningBiCgStab_ChangeToleranceFromSecondProcess_ConvergesAtTheNewTolerance()
    {
        var (a, b) = TestSystems.ConvectionDiffusion(40, 20);
        var strict = TestSystems.PlainSolve("bicgstab", a, b, 1e-13, 5000);

        using var job = new InProcessJob("tolerance", new RunOptions { Tolerance = 1e-13, MaxIterations = 5000 });
        var x = Vector<double>.Build.Dense(b.Count);
        var solver = job.Solver(new BiCgStab(), slowMs: 20);
        var solve = Task.Run(() => solver.Solve(a, b, x));
        job.WaitUntilListening(solve);
        Notify.Append(job.Notifications, "CHANGE_TOLERANCE 1e-6");

        var steered = await solve.WaitAsync(Timeout);
        Assert.Equal(IterationStatus.Converged, steered.MathNetStatus);
        Assert.Equal(RunOutcome.Converged, steered.Run.Outcome);
        Assert.Equal(1e-6, steered.Run.Tolerance);
        var trueResidual = SteerableSolver.RelativeResidual(a, b, x);
        Assert.True(trueResidual < 1e-6, $"true residual {trueResidual:G3}");
        Assert.True(steered.Run.Iteration < strict.Iterations, $"converged at {steered.Run.Iteration}, the strict solve takes {strict.Iterations}\n{job.Log}");

        var result = Notify.ReadResult(job.Service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("1E-06", result["tolerance"]);
        Assert.Contains("note=\"tolerance 1E-13 -> 1E-06\"", job.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunningBiCgStab_Stop_EndsCleanlyWithTheLastIterate()
    {
        var (a, b) = TestSystems.ConvectionDiffusion(40, 20);
        using var job = new InProcessJob("stop", new RunOptions { Tolerance = 1e-13, MaxIterations = 5000 });
        var x = Vector<double>.Build.Dense(b.Count);
        var solver = job.Solver(new BiCgStab(), slowMs: 20);
        var solve = Task.Run(() => solver.Solve(a, b, x));
        job.WaitUntilListening(solve);
        Notify.Append(job.Notifications, "STOP");

        var steered = await solve.WaitAsync(Timeout);
        Assert.Equal(IterationStatus.StoppedWithoutConvergence, steered.MathNetStatus);
        Assert.Equal(RunOutcome.Stopped, steered.Run.Outcome);
        Assert.Equal(ExitCodes.Success, steered.Run.ExitCode);

        // The caller gets the solver's current iterate (BiCgStab's early iterates need not beat the zero
        // start), and the result reports that iterate's true residual.
        Assert.True(x.InfinityNorm() > 0, "the iterate was not handed back");
        var trueResidual = SteerableSolver.RelativeResidual(a, b, x);
        Assert.Equal(trueResidual, steered.Run.Residual);
        var result = Notify.ReadResult(job.Service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal(trueResidual, double.Parse(result["residual"], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task RestartAndCheckpoint_AreDeclinedWithAReason_AndTheSolveGoesOn()
    {
        var (a, b) = TestSystems.ConvectionDiffusion(40, 20);
        using var job = new InProcessJob("declined", new RunOptions { Tolerance = 1e-13, MaxIterations = 5000 });
        var solver = job.Solver(new BiCgStab(), slowMs: 20);
        var solve = Task.Run(() => solver.Solve(a, b, Vector<double>.Build.Dense(b.Count)));
        job.WaitUntilListening(solve);
        Notify.Append(job.Notifications, "RESTART\nCHECKPOINT\nFLY away\nABORT");

        var steered = await solve.WaitAsync(Timeout);
        Assert.Equal(RunOutcome.Aborted, steered.Run.Outcome);
        Assert.Contains("reason=\"RESTART is not available: a MathNet.Numerics solver owns its state", job.Log, StringComparison.Ordinal);
        Assert.Contains("reason=\"CHECKPOINT is not available: a MathNet.Numerics solver owns its state", job.Log, StringComparison.Ordinal);
        Assert.Contains("reason=\"unknown command 'FLY'", job.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CustomCommand_IsValidatedThenAppliedBetweenIterations()
    {
        var (a, b) = TestSystems.ConvectionDiffusion(40, 20);
        using var job = new InProcessJob("custom", new RunOptions { Tolerance = 1e-13, MaxIterations = 5000 });
        var applied = new List<string>();
        var mark = new CustomCommand("MARK", "MARK <label>", "Put a label into the log", text => text.Length > 0 ? null : "a label is needed");
        var solver = new SteerableSolver(new BiCgStab(), job.Options, job.JobLog)
        {
            Commands = [mark],
            ApplyCommand = command => applied.Add(command.Arguments),
            ExtraCriteria = [new SlowDownCriterion(TimeSpan.FromMilliseconds(20))],
        };
        var solve = Task.Run(() => solver.Solve(a, b, Vector<double>.Build.Dense(b.Count)));
        job.WaitUntilListening(solve);
        Notify.Append(job.Notifications, "mark first\nMARK\nMARK=second\nABORT");

        var steered = await solve.WaitAsync(Timeout);
        Assert.Equal(RunOutcome.Aborted, steered.Run.Outcome);
        Assert.Equal(["first", "second"], applied);
        Assert.Contains("reason=\"MARK: a label is needed (usage: MARK <label>)\"", job.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void IterationLimit_IsReportedAsIterationLimit_NotAsStop()
    {
        var (a, b) = TestSystems.ConvectionDiffusion(24, 20);
        using var job = new InProcessJob("limit", new RunOptions { Tolerance = 1e-12, MaxIterations = 3 });
        var steered = job.Solver(new BiCgStab()).Solve(a, b, Vector<double>.Build.Dense(b.Count));

        Assert.Equal(IterationStatus.StoppedWithoutConvergence, steered.MathNetStatus);
        Assert.Equal(RunOutcome.IterationLimit, steered.Run.Outcome);
        Assert.Equal(ExitCodes.IterationLimit, steered.Run.ExitCode);
        Assert.Equal("ITERATION_LIMIT", Notify.ReadResult(job.Service)["outcome"]);
    }

    [Fact]
    public void NonFiniteResidual_IsTheDivergedOutcome_NotAnException()
    {
        // Skew-symmetric: r0ᵀ·A·r0 = 0, so BiCgStab's first step divides by zero and the residual turns non-finite.
        var a = Matrix<double>.Build.DenseOfArray(new double[,] { { 0, 1 }, { -1, 0 } });
        using var job = new InProcessJob("diverged", new RunOptions { Tolerance = 1e-8, MaxIterations = 50 });
        var steered = job.Solver(new BiCgStab()).Solve(a, Vector<double>.Build.DenseOfArray([1, 0]), Vector<double>.Build.Dense(2));

        Assert.Equal(RunOutcome.Diverged, steered.Run.Outcome);
        Assert.Equal(ExitCodes.Diverged, steered.Run.ExitCode);
        Assert.Equal("DIVERGED", Notify.ReadResult(job.Service)["outcome"]);
    }

    /// <summary>A service folder, options pointing at it, and a log captured in memory.</summary>
    private sealed class InProcessJob : IDisposable
    {
        private readonly StringWriter _output = new();
        private readonly JobLog _log;
        private readonly RunOptions _options;

        public InProcessJob(string label, RunOptions options)
        {
            Service = Repo.NewTempFolder($"mathnet-{label}");
            _log = new JobLog(writer: TextWriter.Synchronized(_output));
            _options = options with
            {
                ServiceDirectory = Service,
                PollInterval = TimeSpan.FromMilliseconds(50),
                StatusInterval = TimeSpan.FromMilliseconds(100),
            };
        }

        public string Service { get; }

        public RunOptions Options => _options;

        public JobLog JobLog => _log;

        public string Notifications => Path.Combine(Service, "notifications.txt");

        public string Log
        {
            get
            {
                _log.Flush();
                return _output.ToString();
            }
        }

        public SteerableSolver Solver(IIterativeSolver<double> solver, double slowMs = 0) => new(solver, _options, _log)
        {
            ExtraCriteria = slowMs > 0 ? [new SlowDownCriterion(TimeSpan.FromMilliseconds(slowMs))] : [],
        };

        /// <summary>The status page appears once the watcher is running: a message sent after that is heard.</summary>
        public void WaitUntilListening(Task running) =>
            ServiceFiles.WaitUntil(
                () => File.Exists(Path.Combine(Service, "status.html")) || running.IsCompleted,
                Timeout,
                () => $"no status page in {Service}\n{Log}");

        public void Dispose()
        {
            _log.Dispose();
            Directory.Delete(Service, recursive: true);
        }
    }
}
