using System.Diagnostics;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Criteria;
using Convergence.Hosting;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>
/// The harness's wrapper around the solver under test: passes every call through, records the global
/// residual of each iteration, and (on rank 0, which has the service host) sends the script's lines when
/// their iteration is done.
/// </summary>
/// <remarks>
/// On several ranks the global residual costs one more reduction per iteration, made inside
/// <see cref="Iterate"/> on every rank alike (as a solver's own collectives would be); rank 0 then waits for
/// the watcher while the other ranks wait for it at the loop's sync, so a line is applied at the
/// iteration it was sent after on every rank.
/// </remarks>
internal sealed class ScriptedSolver(
    IIterativeSolver inner,
    IReadOnlyList<(long Iteration, string Command)> script,
    string notifications,
    ServiceHost? host,
    ICoordinator coordinator,
    List<(long, double)> residuals) : IIterativeSolver
{
    private long _total;
    private int _next;

    public string Name => inner.Name;

    public ResidualNorm Norm => inner.Norm;

    public IConvergenceTest? ConvergenceTest => inner.ConvergenceTest;

    public IReadOnlyList<CustomCommand> Commands => inner.Commands;

    public IEnumerable<(string Key, string Value)> ResultFields => inner.ResultFields;

    public void Initialize(SolverContext context) => inner.Initialize(context);

    public double Iterate()
    {
        var local = inner.Iterate();
        _total++;

        residuals.Add((_total, Global(local)));
        while (host is not null && _next < script.Count && script[_next].Iteration <= _total)
        {
            Send(script[_next].Command);
            _next++;
        }

        return local;
    }

    public void Finish(RunResult result) => inner.Finish(result);

    public void ApplyCommand(ControlCommand command) => inner.ApplyCommand(command);

    /// <summary>The global residual as the loop forms it from every rank's contribution (this one's alone on one rank).</summary>
    private double Global(double local)
    {
        var norm = Norm;
        var combined = coordinator.Size == 1 ? local : norm == ResidualNorm.Max ? coordinator.AllreduceMax(local) : coordinator.AllreduceSum(local);
        return norm == ResidualNorm.L2 ? Math.Sqrt(combined) : combined;
    }

    /// <summary>Appends the line as the service would and waits until the watcher has queued it (or rejected it).</summary>
    private void Send(string line)
    {
        var journal = host!.Journal;
        var received = journal.ReceivedCount;
        var rejected = journal.RejectedCount;
        File.AppendAllText(notifications, line + "\n");
        var clock = Stopwatch.StartNew();
        while (journal.RejectedCount == rejected && (journal.ReceivedCount == received || host.Intake is not { IsEmpty: false }))
        {
            if (clock.Elapsed > SolverHarness.LineTimeout)
            {
                throw new TimeoutException($"the notifications watcher did not take '{line}' within {SolverHarness.LineTimeout.TotalSeconds:0} s");
            }

            Thread.Sleep(1);
        }
    }
}
