using System.Globalization;
using Convergence.Coordination;
using Convergence.Output;
using Convergence.Status;

namespace Convergence.Hosting;

/// <summary>
/// The stall watchdog. On every rank a background thread "convergence-stall" looks at this rank's
/// <see cref="RankActivity"/> every second; once it has not changed for <see cref="Quiet"/>, the rank writes
/// one small file, <c>rank-N.txt</c> (its iteration, whether it waits inside MPI, since when, its host), into
/// a folder in the service folder, and removes it as soon as it moves again. Rank 0's thread also reads the
/// folder: a rank that is not waiting (it computes, or is stuck in its own code) while another waits for it
/// is behind; after <see cref="Options.RunOptions.StallNotice"/> the page names it, and after
/// <see cref="Options.RunOptions.StallTimeout"/> the job ends FAILED with that rank and host.
/// </summary>
/// <remarks>
/// No collective and no message: a running job writes nothing (files appear only while ranks stand still),
/// and rank 0's main thread may be blocked in the very collective the stuck rank never joins. The folder
/// is shared like the failure hand-over (<see cref="PeerFailureReports"/>). Ending the job is the one MPI call
/// made off the main thread (<c>MPI_Abort</c>, through <see cref="ICoordinator.Abort"/>): the main threads
/// are stuck or wait on the stuck rank, and both MPI libraries honour an abort from any thread.
/// </remarks>
internal sealed class StallWatch : IDisposable
{
    /// <summary>The folder's name inside the service folder.</summary>
    public const string FolderName = ".convergence-progress";

    /// <summary>How long a rank's activity must stand still before it writes its state.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Look = TimeSpan.FromSeconds(1);

    private readonly string _folder;
    private readonly int _rank;
    private readonly string _host;
    private readonly RankActivity _activity;
    private readonly RankZeroPart? _rankZero;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    private StallWatch(string serviceDirectory, int rank, string host, RankActivity activity, RankZeroPart? rankZero)
    {
        _folder = Path.Combine(serviceDirectory, FolderName);
        (_rank, _host, _activity, _rankZero) = (rank, host, activity, rankZero);
        _thread = new Thread(Run) { IsBackground = true, Name = "convergence-stall" };
    }

    /// <summary>Rank 0's part: what it shows and how it ends the job.</summary>
    /// <param name="Notice">How long a rank may be behind before the page names it.</param>
    /// <param name="Timeout">How long before the job ends FAILED; null for never.</param>
    /// <param name="Live">The page's hand-over.</param>
    /// <param name="Fail">Records the FAILED result for (rank, message); false when the job had already ended.</param>
    /// <param name="Abort">Ends the job (MPI abort).</param>
    /// <param name="Log">The job log.</param>
    public sealed record RankZeroPart(TimeSpan Notice, TimeSpan? Timeout, LiveStatus Live, Func<int, string, bool> Fail, Action Abort, Action<string> Log);

    /// <summary>Rank 0, before any other rank may write: removes what an earlier run left.</summary>
    public static void Clear(string serviceDirectory)
    {
        var folder = Path.Combine(serviceDirectory, FolderName);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Starts this rank's watch; <paramref name="rankZero"/> on rank 0 only.</summary>
    public static StallWatch Start(string serviceDirectory, int rank, string host, RankActivity activity, RankZeroPart? rankZero)
    {
        var watch = new StallWatch(serviceDirectory, rank, host, activity, rankZero);
        watch._thread.Start();
        return watch;
    }

    /// <summary>Stops the thread at its next look and removes this rank's file.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        TryDelete(OwnFile);
    }

    private string OwnFile => Path.Combine(_folder, string.Create(CultureInfo.InvariantCulture, $"rank-{_rank}.txt"));

    private void Run()
    {
        var token = _stop.Token;
        var (iteration, waits) = (_activity.Iteration, _activity.Waits);
        var since = DateTimeOffset.UtcNow;
        var written = false;
        var failed = false;
        while (!token.WaitHandle.WaitOne(Look))
        {
            try
            {
                var now = DateTimeOffset.UtcNow;
                var (i, w) = (_activity.Iteration, _activity.Waits);
                if (i != iteration || w != waits)
                {
                    (iteration, waits, since) = (i, w, now);
                    if (written)
                    {
                        TryDelete(OwnFile);
                        written = false;
                    }
                }
                else if (!written && now - since >= Quiet)
                {
                    Directory.CreateDirectory(_folder);
                    AtomicFile.WriteAllText(OwnFile, string.Create(CultureInfo.InvariantCulture, $"iteration={iteration}\nwaiting={(waits & 1) == 1}\nsince={since.ToUnixTimeMilliseconds()}\nhost={_host}\n"));
                    written = true;
                }

                if (_rankZero is not null && !failed)
                {
                    failed = Judge(_rankZero, now);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The watchdog must never take a healthy job down: it tries again at the next look.
                _rankZero?.Log($"stall watchdog: {ex.Message}");
            }
        }
    }

    /// <summary>Rank 0: names the rank that is behind, and ends the job after the timeout; true once it has.</summary>
    private bool Judge(RankZeroPart part, DateTimeOffset now)
    {
        var reports = Directory.Exists(_folder) ? Collect() : [];
        var behind = reports.Exists(r => r.Waiting)
            ? reports.Where(r => !r.Waiting).OrderBy(r => r.Since).ThenBy(r => r.Rank).FirstOrDefault()
            : null;
        var age = behind is null ? TimeSpan.Zero : now - behind.Since;
        if (behind is null || age < part.Notice)
        {
            part.Live.RecordStall(null);
            return false;
        }

        var text = string.Create(CultureInfo.InvariantCulture, $"rank {behind.Rank} on host {behind.Host} has not finished iteration {behind.Iteration} for {StatusText.Duration(age)}");
        part.Live.RecordStall(text);
        if (part.Timeout is not { } timeout || age < timeout)
        {
            return false;
        }

        var message = string.Create(CultureInfo.InvariantCulture, $"stalled: {text} while the other ranks waited for it (--stall-timeout {timeout.TotalSeconds:0.###}s)");
        if (part.Fail(behind.Rank, message))
        {
            part.Log($"{message}; FAILED result written, aborting the job");
            part.Abort();
        }

        return true;
    }

    private sealed record Report(int Rank, long Iteration, bool Waiting, DateTimeOffset Since, string Host);

    private List<Report> Collect()
    {
        var reports = new List<Report>();
        foreach (var path in Directory.EnumerateFiles(_folder, "rank-*.txt"))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (!int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var rank))
            {
                continue;
            }

            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (FileNotFoundException)
            {
                continue; // the rank moved on and removed it
            }

            var fields = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('=', 2))
                .Where(p => p.Length == 2)
                .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            if (fields.TryGetValue("iteration", out var iteration) && long.TryParse(iteration, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                && fields.TryGetValue("waiting", out var waiting) && bool.TryParse(waiting, out var w)
                && fields.TryGetValue("since", out var since) && long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
            {
                reports.Add(new Report(rank, n, w, DateTimeOffset.FromUnixTimeMilliseconds(ms), fields.GetValueOrDefault("host", "?")));
            }
        }

        return reports;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for rank 0 to clear at the next start.
        }
    }
}
