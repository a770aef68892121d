using System.Diagnostics;
using System.Globalization;
using Convergence.Output;

namespace Convergence.Status;

/// <summary>
/// Rank 0's reporter thread: rewrites the status page atomically at a throttled rate and writes the
/// progress line to the log. Never on the iteration path, never calls MPI.
/// </summary>
public sealed class StatusReporter : IDisposable
{
    private readonly LiveStatus _live;
    private readonly string _statusFile;
    private readonly TimeSpan _statusInterval;
    private readonly TimeSpan _progressInterval;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private long _lastVersion = -1;
    private long _lastJournalVersion = -1;
    private long _rateTotal;
    private long _rateTimestamp = Stopwatch.GetTimestamp();
    private double _rate;
    private bool _rateStarted;
    private bool _warned;

    /// <summary>Starts the reporter thread.</summary>
    public StatusReporter(LiveStatus live, string statusFile, TimeSpan statusInterval, TimeSpan progressInterval, Action<string> log)
    {
        _live = live;
        _statusFile = statusFile;
        _statusInterval = statusInterval;
        _progressInterval = progressInterval;
        _log = log;
        _thread = new Thread(Run) { IsBackground = true, Name = "convergence-status" };
        _thread.Start();
    }

    /// <summary>Pages written so far.</summary>
    public long PagesWritten { get; private set; }

    /// <summary>
    /// Stops the thread and writes the page once more with the final state, durably (the service reads
    /// the last page after the job). No page is written after this one.
    /// </summary>
    /// <remarks>
    /// May be called from any thread, also the reporter's own (a failure there is recorded on it): it
    /// does not wait for itself, and the loop checks the stop before each write.
    /// </remarks>
    public void StopAndWriteFinal()
    {
        lock (_stop)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _stop.Cancel();
        }

        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        WritePage(force: true, durable: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        StopAndWriteFinal();
        _stop.Dispose();
    }

    private void Run()
    {
        var tick = _statusInterval < _progressInterval ? _statusInterval : _progressInterval;
        var nextPage = 0L;
        var nextProgress = Stopwatch.GetTimestamp() + Ticks(_progressInterval);
        string? warning = null;
        do
        {
            UpdateRate();
            if (_live.Warning is var current && !ReferenceEquals(current, warning))
            {
                // The loop sets the warning without a log of its own on rank 0; the change is logged here once.
                _log(current is null ? "convergence: the residual is improving again" : $"warning: {current}");
                warning = current;
            }

            var now = Stopwatch.GetTimestamp();
            if (now >= nextPage && !_stop.IsCancellationRequested)
            {
                nextPage = now + Ticks(_statusInterval);
                WritePage(force: false, durable: false);
            }

            if (now >= nextProgress)
            {
                nextProgress = now + Ticks(_progressInterval);
                WriteProgress();
            }
        }
        while (!_stop.Token.WaitHandle.WaitOne(tick));
    }

    private void WriteProgress()
    {
        var s = _live.Snapshot(_rate);
        if (s.State == JobState.Starting)
        {
            return;
        }

        _log(string.Create(
            CultureInfo.InvariantCulture,
            $"progress iteration={s.Iteration} total={s.TotalIterations} residual={s.Residual:G4} tolerance={s.Tolerance:G4} it/s={_rate:0} eta={(s.Warning is not null ? "not-converging" : s.EstimatedTimeToTolerance is { } eta ? $"{eta.TotalSeconds:0}s" : "-")}"));
    }

    private static long Ticks(TimeSpan interval) => (long)(interval.TotalSeconds * Stopwatch.Frequency);

    private void UpdateRate()
    {
        var now = Stopwatch.GetTimestamp();
        if (!_rateStarted)
        {
            // Counted from the loop's first record, not from zero: a resumed job starts at the checkpoint's
            // total, iterations this job did not run. Asked before the total, so the total is at least that.
            if (_live.HasStarted)
            {
                _rateStarted = true;
                _rateTotal = _live.TotalIterations;
                _rateTimestamp = now;
            }

            return;
        }

        var total = _live.TotalIterations;
        var seconds = (now - _rateTimestamp) / (double)Stopwatch.Frequency;
        if (seconds >= 0.5)
        {
            _rate = Math.Max(0, total - _rateTotal) / seconds;
            _rateTotal = total;
            _rateTimestamp = now;
        }
    }

    private void WritePage(bool force, bool durable)
    {
        var version = _live.Version;
        var journalVersion = _live.Journal.Version;
        if (!force && version == _lastVersion && journalVersion == _lastJournalVersion)
        {
            return;
        }

        try
        {
            // One snapshot for both files: the page and status.json show the same moment, and the history is copied once.
            var snapshot = _live.Snapshot(_rate);
            AtomicFile.WriteAllText(_statusFile, StatusPage.Render(snapshot), durable);
            StatusJson.WriteBeside(_statusFile, snapshot, durable);
            PagesWritten++;
            _lastVersion = version;
            _lastJournalVersion = journalVersion;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (!_warned)
            {
                _log($"status: cannot write {_statusFile}: {ex.Message} (will retry)");
                _warned = true;
            }
        }
    }
}
