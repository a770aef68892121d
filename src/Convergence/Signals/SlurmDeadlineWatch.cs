using System.Globalization;

namespace Convergence.Signals;

/// <summary>
/// Rank 0's background thread that asks Slurm again, at a bounded rate, whether the job's end time moved
/// (<c>scontrol update JobId=… TimeLimit=…</c>) and moves the <see cref="WallTimeBudget"/>'s deadline.
/// </summary>
/// <remarks>
/// Never calls MPI. The budget is read by rank 0's loop at its next sync, and its decision travels to every
/// rank in the sync header, so all ranks still act on the same data. The rate: every
/// <see cref="Interval"/>, and more often (a quarter of the time left, at least every 5 s) near the end, so
/// an extension given shortly before the deadline still counts.
/// </remarks>
public sealed class SlurmDeadlineWatch : IDisposable
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(10);

    private readonly WallTimeBudget _budget;
    private readonly string _jobId;
    private readonly Action<string> _log;
    private readonly Func<string, DateTimeOffset?> _query;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly TimeSpan _minimum;
    private string? _problem;

    /// <summary>Starts watching job <paramref name="jobId"/>'s end time for <paramref name="budget"/>.</summary>
    /// <param name="budget">Rank 0's budget; its deadline is moved when Slurm's end time changes.</param>
    /// <param name="jobId">The job's id.</param>
    /// <param name="interval">The longest time between two questions (at least 5 s).</param>
    /// <param name="log">One line per change of the end time and per change of trouble.</param>
    /// <param name="query">How to ask (tests); <see cref="SlurmEndTime.Query"/> when null.</param>
    public SlurmDeadlineWatch(WallTimeBudget budget, string jobId, TimeSpan interval, Action<string> log, Func<string, DateTimeOffset?>? query = null)
        : this(budget, jobId, interval, log, query, TimeSpan.FromSeconds(5))
    {
    }

    /// <summary>As the public constructor, with another lower bound on the rate (tests).</summary>
    internal SlurmDeadlineWatch(WallTimeBudget budget, string jobId, TimeSpan interval, Action<string> log, Func<string, DateTimeOffset?>? query, TimeSpan minimum)
    {
        _budget = budget;
        _jobId = jobId;
        _minimum = minimum;
        Interval = interval < minimum ? minimum : interval;
        _log = log;
        _query = query ?? AskSlurm;
        _thread = new Thread(Run) { IsBackground = true, Name = "convergence-slurm" };
        _thread.Start();
    }

    /// <summary>The longest time between two questions.</summary>
    public TimeSpan Interval { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.Token.WaitHandle.WaitOne(NextWait()))
        {
            var end = _query(_jobId);
            if (end is { } value && value != _budget.Deadline)
            {
                var before = _budget.Deadline;
                _budget.MoveDeadline(value);
                _log(string.Create(CultureInfo.InvariantCulture,
                    $"deadline: Slurm's end time for job {_jobId} moved from {before.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} to {value.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} (time limit changed); the next sync decides with it"));
            }
        }
    }

    private TimeSpan NextWait()
    {
        var left = _budget.Deadline - DateTimeOffset.UtcNow;
        var nearEnd = left / 4;
        var wait = nearEnd < Interval ? nearEnd : Interval;
        return wait < _minimum ? _minimum : wait;
    }

    private DateTimeOffset? AskSlurm(string jobId)
    {
        var end = SlurmEndTime.Query(jobId, QueryTimeout, out var problem);
        if (problem != _problem)
        {
            // Once per change: a slurmctld that is away for a while must not flood the log.
            _log(problem is null ? "deadline: Slurm answers again" : $"deadline: cannot ask Slurm for the end time ({problem}); keeping {_budget.Deadline.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}");
            _problem = problem;
        }

        return end;
    }
}
