using BenchmarkDotNet.Attributes;
using Convergence.Hosting;
using Convergence.MathNet;
using Convergence.Options;
using Convergence.Output;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Solvers;

namespace Convergence.Benchmarks;

/// <summary>
/// What a MathNet.Numerics solver pays per iteration for its stop criterion: MathNet's own
/// <see cref="ResidualStopCriterion{T}"/> against the steering criterion (with rank 0's real services
/// running, and without), and the work the steering criterion used to do per call (two norms and a
/// status record under the lock with a clock read). Figures are per <c>DetermineStatus</c> call, one
/// new iteration number each, on vectors of <see cref="N"/> doubles.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class StopCriterionBenchmarks : OwningBenchmark
{
    private const int Calls = 64;

    private ServiceHost _host = null!;
    private JobLog _log = null!;
    private string _folder = null!;
    private Vector<double> _solution = null!;
    private Vector<double> _source = null!;
    private Vector<double> _residual = null!;
    private ResidualStopCriterion<double> _mathNet = null!;
    private SteeringStopCriterion _steering = null!;
    private SteeringStopCriterion _bare = null!;
    private int _iteration;

    /// <summary>Unknowns: a small system (the norms are cheap) and a large one (they dominate).</summary>
    [Params(1_000, 100_000)]
    public int N { get; set; }

    /// <summary>Vectors that never converge (tolerance far below the residual); rank 0's services on an empty notifications file.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _solution = Vector<double>.Build.Dense(N, i => 1.0 / (i + 1));
        _source = Vector<double>.Build.Dense(N, i => Math.Sin(i + 1));
        _residual = Vector<double>.Build.Dense(N, i => 1e-3 * Math.Cos(i));
        _folder = Path.Combine(Path.GetTempPath(), "convergence-bench", $"criterion-{Environment.ProcessId}-{Guid.NewGuid():N}");
        _log = new JobLog(writer: TextWriter.Null);
        _host = ServiceHost.Start(new RunOptions { ServiceDirectory = _folder, Tolerance = 1e-300 }, _log, "bench");
        _mathNet = new ResidualStopCriterion<double>(1e-300);
        _steering = new SteeringStopCriterion(1e-300, _host);
        _bare = new SteeringStopCriterion(1e-300);
    }

    /// <summary>Stops rank 0's services and removes the folder.</summary>
    protected override void ReleaseOwned()
    {
        _host?.Dispose();
        _log?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>MathNet's own residual criterion.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Calls)]
    public IterationStatus MathNetResidual()
    {
        var status = IterationStatus.Continue;
        for (var i = 0; i < Calls; i++)
        {
            status = _mathNet.DetermineStatus(++_iteration, _solution, _source, _residual);
        }

        return status;
    }

    /// <summary>The steering criterion with a real host: command check and throttled status records.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public IterationStatus Steering()
    {
        var status = IterationStatus.Continue;
        for (var i = 0; i < Calls; i++)
        {
            status = _steering.DetermineStatus(++_iteration, _solution, _source, _residual);
        }

        return status;
    }

    /// <summary>The steering criterion without services (a solve nobody steers).</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public IterationStatus SteeringWithoutHost()
    {
        var status = IterationStatus.Continue;
        for (var i = 0; i < Calls; i++)
        {
            status = _bare.DetermineStatus(++_iteration, _solution, _source, _residual);
        }

        return status;
    }

    /// <summary>What the steering criterion did per call before: both norms and a status record (lock, clock read).</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public double PreviousPerCallWork()
    {
        var relative = 0.0;
        for (var i = 0; i < Calls; i++)
        {
            var residualNorm = _residual.InfinityNorm();
            var sourceNorm = _source.InfinityNorm();
            relative = residualNorm / sourceNorm;
            ++_iteration;
            _host.Live.Record(_iteration, _iteration, relative, 1e-300);
        }

        return relative;
    }
}
