using BenchmarkDotNet.Attributes;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Benchmarks;

/// <summary>
/// What the control layer adds to one iteration boundary in a single process: the bare loop (baseline),
/// a boundary where no sync is due, and one where a sync is due but no command waits.
/// </summary>
/// <remarks>
/// Each invocation runs a whole loop of <see cref="Iterations"/> iterations of a trivial solver, so the
/// per-operation figures are per iteration; the run's own start and end (a few hundred bytes, a few
/// microseconds) are spread over a million iterations and vanish from the per-iteration figures.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
public class ControlBoundaryBenchmarks : OwningBenchmark
{
    private const int Iterations = 1 << 20;

    private readonly IIterativeSolver _solver = new TrivialSolver();
    private readonly ICoordinator _coordinator = new SingleProcessCoordinator();
    private BenchmarkServices _services = null!;
    private ControlLoop _noSyncDue = null!;
    private ControlLoop _syncDue = null!;
    private ControlLoop _piggyBack = null!;
    private ControlLoop _adaptive = null!;
    private ControlLoop _noSyncDueTested = null!;

    /// <summary>Builds one loop per cadence, all with rank 0's real services (watcher thread included).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _services = new BenchmarkServices("boundary");
        var options = new RunOptions { Tolerance = 1e-12, MaxIterations = Iterations };

        // One sync at the first iteration, the next far beyond the run: every other boundary is a no-sync one.
        _noSyncDue = new ControlLoop(_solver, _coordinator, options with { Sync = SyncPolicy.Every(1L << 40) }, _services.Services);

        // A sync at every boundary, nothing waiting: header reduction, queue check, status record.
        _syncDue = new ControlLoop(_solver, _coordinator, options with { Sync = SyncPolicy.Every(1) }, _services.Services);

        // Piggy-back: no header between the ~20 ms syncs, but every boundary reads the event flags.
        _piggyBack = new ControlLoop(_solver, _coordinator, options with { Sync = SyncPolicy.PiggyBack }, _services.Services);

        // The default: a sync about every 20 ms of wall time.
        _adaptive = new ControlLoop(_solver, _coordinator, options with { Sync = SyncPolicy.Default }, _services.Services);

        // No sync due, with a configured convergence test (tolerance + divergence, never triggered: the
        // residual settles at 2): what the pluggable path costs where the default stays inline.
        _noSyncDueTested = new ControlLoop(_solver, _coordinator, options with { Sync = SyncPolicy.Every(1L << 40), DivergenceFactor = 1e6 }, _services.Services);
    }

    /// <summary>Stops the watcher thread and removes the temporary folder.</summary>
    protected override void ReleaseOwned()
    {
        _services?.Dispose();
    }

    /// <summary>The bare loop: iterate, reduce, compare.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Iterations)]
    public double Uncontrolled() => UncontrolledLoop.Run(_solver, _coordinator, 1e-12, Iterations);

    /// <summary>The control loop where no sync is due: should cost a counter compare over the baseline.</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public double NoSyncDue() => _noSyncDue.Run().Residual;

    /// <summary>The control loop with a sync at every boundary and nothing pending.</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public double SyncDueNothingPending() => _syncDue.Run().Residual;

    /// <summary>Piggy-back with nothing pending: the event flags read at every boundary, syncs on the cadence.</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public double PiggyBackNothingPending() => _piggyBack.Run().Residual;

    /// <summary>No sync due, with <c>--divergence-factor</c>: the configured test is asked at every boundary.</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public double NoSyncDueWithConvergenceTest() => _noSyncDueTested.Run().Residual;

    /// <summary>The default cadence (adaptive, ~20 ms between syncs).</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public double AdaptiveDefault() => _adaptive.Run().Residual;
}
