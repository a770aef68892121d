using System.Diagnostics;
using Convergence.Commands;
using Convergence.Journal;

namespace Convergence.Status;

/// <summary>
/// The hand-over point between rank 0's control loop (which records progress at sync boundaries) and the
/// reporter thread (which turns it into snapshots).
/// </summary>
/// <remarks>
/// One short, uncontended lock per sync boundary on rank 0; recording allocates nothing. Readers copy
/// under the same lock.
/// </remarks>
public sealed class LiveStatus
{
    private readonly object _gate = new();
    private readonly ResidualHistory _history = new();
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private long _iteration;
    private long _total;
    private double _residual = double.NaN;
    private double _tolerance;
    private int _restarts;
    private JobState _state = JobState.Starting;
    private string? _message;
    private string? _lastCheckpoint;
    private string? _warning;
    private IReadOnlyList<NodeRanks> _nodes = [];
    private IReadOnlyList<ScheduledCommand> _scheduled = [];
    private PauseInfo? _pause;
    private string? _stall;

    /// <summary>Creates the hand-over for one job.</summary>
    public LiveStatus(string jobName, string solverName, int ranks, double tolerance, IReadOnlyList<CustomCommand> customCommands, CommandJournal journal)
    {
        JobName = jobName;
        SolverName = solverName;
        Ranks = ranks;
        _tolerance = tolerance;
        CustomCommands = customCommands;
        Journal = journal;
    }

    /// <summary>The job's name.</summary>
    public string JobName { get; }

    /// <summary>The solver's name.</summary>
    public string SolverName { get; }

    /// <summary>Number of ranks.</summary>
    public int Ranks { get; }

    /// <summary>Each host with its ranks, once rank 0 knows them (empty before).</summary>
    public IReadOnlyList<NodeRanks> Nodes
    {
        get
        {
            lock (_gate)
            {
                return _nodes;
            }
        }

        set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_gate)
            {
                _nodes = value;
                Version++;
            }
        }
    }

    /// <summary>The solver's own commands.</summary>
    public IReadOnlyList<CustomCommand> CustomCommands { get; }

    /// <summary>The command journal shown with the status.</summary>
    public CommandJournal Journal { get; }

    /// <summary>Changes whenever anything shown changes.</summary>
    public long Version { get; private set; }

    /// <summary>Every applied change of a steerable setting in the run (shown, and written to the result).</summary>
    public ChangeRecord Changes { get; } = new();

    /// <summary>The scheduled commands waiting to fire, as rank 0's schedule last published them.</summary>
    public IReadOnlyList<ScheduledCommand> Scheduled
    {
        get
        {
            lock (_gate)
            {
                return _scheduled;
            }
        }

        set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_gate)
            {
                _scheduled = value;
                Version++;
            }
        }
    }

    /// <summary>Records the state at a sync boundary. Allocation-free.</summary>
    public void Record(long iteration, long totalIterations, double residual, double tolerance)
    {
        var seconds = Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds;
        lock (_gate)
        {
            _iteration = iteration;
            _total = totalIterations;
            _residual = residual;
            _tolerance = tolerance;
            if (_state == JobState.Starting)
            {
                _state = JobState.Running;
            }

            _history.Add(new ResidualPoint(totalIterations, iteration, residual, seconds, false));
            Version++;
        }
    }

    /// <summary>
    /// The tolerance in force changed (an applied <c>CHANGE_TOLERANCE</c>): shown at once, without waiting for
    /// the next progress record, and without a history point of its own.
    /// </summary>
    public void RecordTolerance(double tolerance)
    {
        lock (_gate)
        {
            _tolerance = tolerance;
            Version++;
        }
    }

    /// <summary>The loop paused (or, paused already, got a new end): the page shows it until <see cref="RecordResume"/>.</summary>
    public void RecordPause(long iteration, DateTimeOffset since, DateTimeOffset? resumesAt)
    {
        lock (_gate)
        {
            _pause = new PauseInfo(iteration, since, resumesAt);
            if (_state is JobState.Starting or JobState.Running)
            {
                _state = JobState.Paused;
            }

            Version++;
        }
    }

    /// <summary>A paused loop's round: nothing moved, but the page is rewritten (elapsed time, a fresh <c>updatedAt</c>) so a reader sees the job is alive.</summary>
    public void RecordPausedRound()
    {
        lock (_gate)
        {
            Version++;
        }
    }

    /// <summary>The loop goes on after a pause.</summary>
    public void RecordResume()
    {
        lock (_gate)
        {
            _pause = null;
            if (_state == JobState.Paused)
            {
                _state = JobState.Running;
            }

            Version++;
        }
    }

    /// <summary>The stall watchdog's line ("rank 2 on host n3 has not finished iteration 4,711 for 3 min 10 s"), or null when no rank is behind.</summary>
    public void RecordStall(string? stall)
    {
        lock (_gate)
        {
            if (_stall != stall)
            {
                _stall = stall;
                Version++;
            }
        }
    }

    /// <summary>Records a restart: the next history point is marked.</summary>
    public void RecordRestart(int restarts)
    {
        lock (_gate)
        {
            _restarts = restarts;
            _history.MarkRestart();
            Version++;
        }
    }

    /// <summary>
    /// Sets (or with null clears) the convergence test's warning, e.g. "not converging at this rate: …"; while
    /// it is set the page shows it instead of an estimate. Called only when the warning starts or ends.
    /// </summary>
    public void RecordWarning(string? warning)
    {
        lock (_gate)
        {
            _warning = warning;
            Version++;
        }
    }

    /// <summary>The convergence test's current warning, or null.</summary>
    public string? Warning
    {
        get
        {
            lock (_gate)
            {
                return _warning;
            }
        }
    }

    /// <summary>Records the last complete checkpoint (shown with how to resume).</summary>
    public void RecordCheckpoint(string description)
    {
        lock (_gate)
        {
            _lastCheckpoint = description;
            Version++;
        }
    }

    /// <summary>Records the end of the job.</summary>
    public void Finish(JobState state, long iteration, long totalIterations, double residual, double tolerance, string? message)
    {
        var seconds = Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds;
        lock (_gate)
        {
            _state = state;
            _pause = null;
            _message = message;
            _iteration = iteration;
            _total = totalIterations;
            _residual = residual;
            _tolerance = tolerance;
            if (double.IsFinite(residual))
            {
                _history.Add(new ResidualPoint(totalIterations, iteration, residual, seconds, false));
            }

            Version++;
        }
    }

    /// <summary>Freezes the current state; <paramref name="iterationsPerSecond"/> is measured by the caller.</summary>
    public StatusSnapshot Snapshot(double iterationsPerSecond)
    {
        ResidualPoint[] history;
        StatusSnapshot snapshot;
        lock (_gate)
        {
            history = _history.ToArray();
            snapshot = new StatusSnapshot
            {
                JobName = JobName,
                SolverName = SolverName,
                State = _state,
                Ranks = Ranks,
                Nodes = _nodes,
                Iteration = _iteration,
                TotalIterations = _total,
                Residual = _residual,
                Tolerance = _tolerance,
                Restarts = _restarts,
                Elapsed = Stopwatch.GetElapsedTime(_startTimestamp),
                IterationsPerSecond = iterationsPerSecond,
                History = history,
                Journal = Journal.Snapshot(),
                Scheduled = _scheduled,
                Changes = Changes.Recent(),
                ChangeSummaries = Changes.Summaries(),
                ChangeCount = Changes.Count,
                CustomCommands = CustomCommands,
                Message = _message,
                LastCheckpoint = _lastCheckpoint,
                Warning = _warning,
                Pause = _pause,
                Stall = _stall,
                UpdatedAt = DateTimeOffset.UtcNow,
            };
        }

        var eta = snapshot.Finished || snapshot.Warning is not null || snapshot.Pause is not null ? null : ConvergenceEstimate.TimeToTolerance(history, snapshot.Tolerance);
        return snapshot with
        {
            EstimatedTimeToTolerance = eta,
            State = snapshot.State == JobState.Running && eta is not null ? JobState.Converging : snapshot.State,
        };
    }

    /// <summary>True once the loop has recorded its first state (after a resume: the checkpoint's counts).</summary>
    internal bool HasStarted
    {
        get
        {
            lock (_gate)
            {
                return _state != JobState.Starting;
            }
        }
    }

    /// <summary>Iterations over the whole run, read without the lock for rate measurements.</summary>
    public long TotalIterations
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }
}
