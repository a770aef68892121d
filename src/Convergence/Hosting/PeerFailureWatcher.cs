
namespace Convergence.Hosting;

/// <summary>
/// Rank 0's background thread "convergence-failures": looks for failures other ranks hand over
/// (<see cref="PeerFailureReports"/>) and records the first one as the job's FAILED result, on rank 0's
/// own page and journal. Never calls MPI.
/// </summary>
/// <remarks>
/// When several ranks fail at once (a collective failure: every rank threw on the same data), their
/// reports arrive within moments of each other and in any order. The watcher waits <see cref="Grace"/>
/// after the first one and then records the lowest rank, so the same failure gives the same result every
/// time; rank 0's own failure, recorded by its main thread within that time, takes precedence over all.
/// </remarks>
internal sealed class PeerFailureWatcher : IDisposable
{
    /// <summary>How long after the first report the watcher waits for others before it picks the lowest rank.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    private readonly PeerFailureReports _reports;
    private readonly TimeSpan _pollInterval;
    private readonly Func<int, string, IReadOnlyList<(int Rank, string Error)>, bool> _record;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    /// <summary>Starts watching.</summary>
    /// <param name="reports">The hand-over folder.</param>
    /// <param name="pollInterval">How often to look (one stat per look).</param>
    /// <param name="record">Records the FAILED result for (rank, error, all reports); false if the job had already ended.</param>
    /// <param name="log">The job log.</param>
    public PeerFailureWatcher(PeerFailureReports reports, TimeSpan pollInterval, Func<int, string, IReadOnlyList<(int Rank, string Error)>, bool> record, Action<string> log)
    {
        _reports = reports;
        _pollInterval = pollInterval;
        _record = record;
        _log = log;
        _thread = new Thread(Run) { IsBackground = true, Name = "convergence-failures" };
        _thread.Start();
    }

    /// <summary>Stops the thread at its next look; does not wait for it (it may be waiting for the host that disposes it).</summary>
    public void Dispose() => _stop.Cancel();

    private void Run()
    {
        var token = _stop.Token;
        try
        {
            while (!token.WaitHandle.WaitOne(_pollInterval))
            {
                if (!_reports.AnyReported())
                {
                    continue;
                }

                if (token.WaitHandle.WaitOne(Grace))
                {
                    return;
                }

                var reports = _reports.Collect();
                if (reports.Count == 0)
                {
                    continue;
                }

                // Acknowledged only when this wrote the result: if the job had already ended (rank 0 failed
                // itself, or finished), the failing rank writes its own after its bounded wait, or is taken
                // down by rank 0's abort first.
                var (rank, error) = reports[0];
                if (_record(rank, error, reports))
                {
                    _log($"rank {rank} handed its failure to rank 0; FAILED result written{(reports.Count > 1 ? $" (also failed: ranks {string.Join(", ", reports.Skip(1).Select(r => r.Rank))})" : string.Empty)}");
                    _reports.Acknowledge(rank);
                }

                return;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The failing rank writes the result itself when no acknowledgement comes.
            _log($"cannot read failures handed over in {_reports.Folder}: {ex.Message}");
        }
    }
}
