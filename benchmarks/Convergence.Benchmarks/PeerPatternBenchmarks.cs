using BenchmarkDotNet.Attributes;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Benchmarks;

/// <summary>
/// The same bare loop with the alternatives a solver author might write instead of the framework: the
/// platform example's marker-file check at every iteration, and a "broadcast the command every iteration"
/// loop (here its single-process part: building and handing over the packet; the MPI harness measures the
/// real broadcast). The framework's default cadence runs alongside for comparison.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class PeerPatternBenchmarks : OwningBenchmark
{
    private const int Iterations = 1 << 16;

    // Typed as the interfaces on purpose: the framework calls through them, so the peers must too.
#pragma warning disable CA1859
    private readonly IIterativeSolver _solver = new TrivialSolver();
    private readonly ICoordinator _coordinator = new SingleProcessCoordinator();
#pragma warning restore CA1859
    private BenchmarkServices _services = null!;
    private ControlLoop _framework = null!;

    /// <summary>Starts rank 0's services and builds the framework loop with default options.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _services = new BenchmarkServices("peers");
        _framework = new ControlLoop(_solver, _coordinator, new RunOptions { Tolerance = 1e-12, MaxIterations = Iterations }, _services.Services);
    }

    /// <summary>Stops the watcher thread and removes the temporary folder.</summary>
    protected override void ReleaseOwned()
    {
        _services?.Dispose();
    }

    /// <summary>The bare loop: iterate, reduce, compare.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Iterations)]
    public double Uncontrolled() => UncontrolledLoop.Run(_solver, _coordinator, 1e-12, Iterations);

    /// <summary>The framework with its defaults.</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public double FrameworkDefault() => _framework.Run().Residual;

    /// <summary>The platform example's pattern: a <c>File.Exists</c> of an abort marker at every iteration.</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public double FileCheckEveryIteration()
    {
        var marker = _services.MarkerPath;
        var residual = double.NaN;
        for (long i = 0; i < Iterations; i++)
        {
            residual = Math.Sqrt(_coordinator.AllreduceSum(_solver.Iterate()));
            if (residual < 1e-12 || !double.IsFinite(residual) || File.Exists(marker))
            {
                break;
            }
        }

        return residual;
    }

    /// <summary>A command packet built and broadcast at every iteration (the single-process analogue).</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public double BroadcastEveryIteration()
    {
        var intake = _services.Intake;
        var residual = double.NaN;
        for (long i = 0; i < Iterations; i++)
        {
            residual = Math.Sqrt(_coordinator.AllreduceSum(_solver.Iterate()));
            var packet = default(CommandPacket);
            if (!intake.IsEmpty && intake.TryDequeue(out var pending))
            {
                packet = CommandPacket.From(pending.Command, pending.Sequence);
            }

            _coordinator.Broadcast(ref packet);
            if (residual < 1e-12 || !double.IsFinite(residual) || packet.Kind != 0)
            {
                break;
            }
        }

        return residual;
    }
}
