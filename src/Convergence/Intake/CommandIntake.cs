using System.Collections.Concurrent;
using System.Globalization;
using Convergence.Commands;
using Convergence.Journal;

namespace Convergence.Intake;

/// <summary>
/// Rank 0's watcher: a background thread that polls the notifications file, parses each line, records it
/// in the journal and queues accepted commands for the control loop.
/// </summary>
/// <remarks>
/// <para>
/// Single producer (the watcher thread), single consumer (the control loop's thread, through
/// <see cref="TryDequeue"/>). The watcher never calls MPI. Commands leave the queue in arrival order; the
/// control loop applies one per sync and asks for the next sync at once while more are waiting.
/// </para>
/// <para>
/// Nothing the file contains can stop the watcher or grow its memory without bound: each poll reads a
/// bounded number of bytes, at most <see cref="MaxWaiting"/> accepted commands wait at once (more are
/// rejected in the journal), and read errors are logged once per change and retried. Rejections are
/// rate-limited by the journal (a few in full, then one summary per interval), and the preview of a
/// rejected line is only built when the journal will show it, so a flood of binary data costs little more
/// than reading it.
/// </para>
/// <para>
/// A <c>#id</c> that an accepted command already carried in this run (the newest
/// <see cref="RememberedIds"/> are remembered) is rejected as a duplicate: a double click or a resent
/// message is not applied twice.
/// </para>
/// </remarks>
public sealed class CommandIntake : IDisposable
{
    /// <summary>Accepted commands that may wait for a sync at once; more are rejected so memory stays bounded.</summary>
    public const int MaxWaiting = 10_000;

    /// <summary>How many accepted <c>#id</c>s are remembered for the duplicate check; older ones are forgotten.</summary>
    public const int RememberedIds = 100_000;

    private const int MaxFinalPolls = 64;

    /// <summary>The same problem is logged again after this long at the earliest.</summary>
    private static readonly TimeSpan SameProblemEvery = TimeSpan.FromSeconds(60);

    /// <summary>At most one problem line per this interval, however the problems change.</summary>
    private static readonly TimeSpan ProblemLinesEvery = TimeSpan.FromSeconds(1);

    private readonly NotificationTail _tail;
    private readonly CommandParser _parser;
    private readonly CommandJournal _journal;
    private readonly TimeSpan _pollInterval;
    private readonly Action<string> _log;
    private readonly ConcurrentQueue<PendingCommand> _queue = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly FileSystemWatcher? _watcher;
    private readonly Thread _thread;
    private readonly List<TailLine> _lines = [];
    private readonly Dictionary<string, long> _ids = new(StringComparer.Ordinal);
    private readonly Queue<string> _idOrder = new();
    private long _polls;
    private int _waiting;
    private string? _problem;
    private string? _loggedProblem;
    private long _loggedProblemAt;
    private long _heldProblems;
    private bool _problemShown;
    private bool _abandoned;
    private readonly IReadOnlyList<string> _carried;

    /// <summary>Starts watching at once; the intake owns <paramref name="tail"/> from now on and disposes it.</summary>
    /// <param name="tail">The notifications file's tail.</param>
    /// <param name="parser">Parses each line.</param>
    /// <param name="journal">Records each message.</param>
    /// <param name="pollInterval">How often the file is looked at without a change notification.</param>
    /// <param name="useChangeNotifications">Also wake on the file system's change notifications.</param>
    /// <param name="log">The job log.</param>
    /// <param name="carried">
    /// Messages a chained job's previous link received but could not apply before it ended; taken before
    /// anything read from the file, as if they had just been read.
    /// </param>
    public CommandIntake(NotificationTail tail, CommandParser parser, CommandJournal journal, TimeSpan pollInterval, bool useChangeNotifications, Action<string> log, IReadOnlyList<string>? carried = null)
    {
        _carried = carried ?? [];
        _tail = tail;
        _parser = parser;
        _journal = journal;
        _pollInterval = pollInterval;
        _log = log;
        tail.PreviewFilter = () => journal.NextRejectionShown;
        log(DescribeStart(tail));
        if (useChangeNotifications)
        {
            _watcher = TryWatch(tail.Path);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "convergence-notifications" };
        _thread.Start();
    }

    /// <summary>True when no command is waiting. Cheap: no lock, no allocation.</summary>
    public bool IsEmpty => _queue.IsEmpty;

    /// <summary>
    /// Where the watcher stopped reading; meaningful after <see cref="StopAndDrain"/> (a chained job records it
    /// for its next link). Null when no file was open.
    /// </summary>
    public NotificationPosition? Position => _stop.IsCancellationRequested && !_abandoned ? _tail.TakePosition() : null;

    /// <summary>How long <see cref="StopAndDrain"/> waits for the watcher thread before giving up on it (logged).</summary>
    internal TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many polls have run (for the watcher-cost figures).</summary>
    public long Polls => Interlocked.Read(ref _polls);

    /// <summary>Takes the oldest waiting command.</summary>
    public bool TryDequeue(out PendingCommand command)
    {
        if (!_queue.TryDequeue(out command!))
        {
            return false;
        }

        Interlocked.Decrement(ref _waiting);
        return true;
    }

    /// <summary>Polls once more on the caller's thread after stopping the watcher, so a message sent just before the end is recorded.</summary>
    public void StopAndDrain()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _wake.Set();
        if (!_thread.Join(JoinTimeout))
        {
            // Stuck in the kernel (a hung NFS server): the job ends without it; the tail is left to that thread.
            _abandoned = true;
            _log(FormattableString.Invariant(
                $"notifications: the watcher did not stop within {JoinTimeout.TotalSeconds:0} s (stuck reading {_tail.Path}?); ending without a last look at the file"));
            _journal.FlushRejections(force: true);
            return;
        }

        // Bounded: a sender flooding the file while the job ends must not keep it from ending.
        var polls = 0;
        do
        {
            PollOnce();
        }
        while (_tail.HasMore && ++polls < MaxFinalPolls);

        // What the rate limit held back is summarised now: the log and the page end with the full count.
        _journal.FlushRejections(force: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _watcher?.Dispose();
        StopAndDrain();
        if (_abandoned)
        {
            // The stuck thread still holds the tail and may wake: it finds the stop requested and ends.
            return;
        }

        _tail.Dispose();
        _wake.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        foreach (var text in _carried)
        {
            Handle(new TailLine(text, null));
        }

        while (!_stop.IsCancellationRequested)
        {
            PollOnce();

            // A poll that stopped at its byte budget goes on at once: a flood is read in bounded steps.
            if (!_tail.HasMore && !_stop.IsCancellationRequested)
            {
                _wake.WaitOne(_pollInterval);
            }
        }
    }

    /// <summary>One poll; never throws (the watcher thread must survive anything the file system does).</summary>
    private void PollOnce()
    {
        _lines.Clear();
        string? problem = null;
        try
        {
            _tail.Poll(_lines);
            problem = _tail.Warning;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            problem = $"cannot read {_tail.Path}: {ex.GetType().Name}: {CommandParser.OneLine(ex.Message)} (will retry)";
        }
        finally
        {
            // Lines read before a failure were consumed from the file: they must be handled, not dropped.
            Interlocked.Increment(ref _polls);
            foreach (var line in _lines)
            {
                Handle(line);
            }

            _lines.Clear();
        }

        _journal.FlushRejections();
        if (_tail.TakeNotice() is { } notice)
        {
            _log(notice);
        }

        // A problem held back by the rate limit is tried again at later polls while it lasts.
        if (problem != _problem || (problem is not null && problem != _loggedProblem))
        {
            LogProblemChange(problem, changed: problem != _problem);
            _problem = problem;
        }
    }

    /// <summary>
    /// Logs a change of the watcher's problem, rate-limited: a missing mount or a flapping disk must not flood
    /// the job's log. The same problem again within a minute, or any problem within a second of the last line,
    /// is only counted (and the count given with the next line); "readable again" follows only a logged problem.
    /// </summary>
    private void LogProblemChange(string? problem, bool changed)
    {
        var now = Environment.TickCount64;
        if (problem is null)
        {
            if (_problemShown)
            {
                _log($"notifications: {_tail.Path} readable again");
                _problemShown = false;
            }

            return;
        }

        var sinceLast = TimeSpan.FromMilliseconds(now - _loggedProblemAt);
        if ((_loggedProblem is not null && problem == _loggedProblem && sinceLast < SameProblemEvery) || sinceLast < ProblemLinesEvery)
        {
            _heldProblems += changed ? 1 : 0;
            return;
        }

        var held = _heldProblems == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" ({_heldProblems} more problem reports held back)");
        _log($"notifications: {problem}{held}");
        _heldProblems = 0;
        _loggedProblem = problem;
        _loggedProblemAt = now;
        _problemShown = true;
    }

    private void Handle(TailLine line)
    {
        if (line.Text is null)
        {
            _journal.Rejected(line.Preview ?? "(unreadable line)", null, line.Rejection ?? "unreadable");
            return;
        }

        var result = _parser.Parse(line.Text);
        if (result.IsBlank)
        {
            return;
        }

        var text = line.Text.Trim();
        if (result.Command is not { } command)
        {
            _journal.Rejected(text, result.ClientId, result.Rejection!);
        }
        else if (_waiting >= MaxWaiting)
        {
            _journal.Rejected(text, result.ClientId, $"{MaxWaiting} commands are already waiting to be applied; send it again later");
        }
        else if (command.ClientId is { } id && _ids.TryGetValue(id, out var first))
        {
            _journal.Rejected(text, id, string.Create(CultureInfo.InvariantCulture, $"duplicate #id '{id}': already received as seq={first}; not applied again (give each message its own #id)"));
        }
        else
        {
            var sequence = _journal.Received(command, text);
            Remember(command.ClientId, sequence);
            Interlocked.Increment(ref _waiting);
            _queue.Enqueue(new PendingCommand(sequence, command));
        }
    }

    private void Remember(string? id, long sequence)
    {
        if (id is null)
        {
            return;
        }

        _ids[id] = sequence;
        _idOrder.Enqueue(id);
        if (_idOrder.Count > RememberedIds)
        {
            _ids.Remove(_idOrder.Dequeue());
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Set();
        }
        catch (ObjectDisposedException)
        {
            // An event that raced with Dispose: there is nothing left to wake.
        }
    }

    private static string DescribeStart(NotificationTail tail)
    {
        if (tail.ContinuedFrom is { } continued)
        {
            return $"notifications: following {tail.Path}; {continued}";
        }

        var skipped = tail.SkippedBytes == 0
            ? "nothing skipped"
            : tail.SkippedLines < 0
                ? $"skipped {tail.SkippedBytes} bytes left by an earlier run (too large to count lines); use --replay-notifications on to apply them"
                : $"skipped {tail.SkippedLines} lines ({tail.SkippedBytes} bytes) left by an earlier run; use --replay-notifications on to apply them";
        return $"notifications: following {tail.Path}; {skipped}";
    }

    private FileSystemWatcher? TryWatch(string path)
    {
        try
        {
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
            var watcher = new FileSystemWatcher(folder, System.IO.Path.GetFileName(path))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            watcher.Changed += (_, _) => Wake();
            watcher.Created += (_, _) => Wake();
            watcher.Renamed += (_, _) => Wake();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            _log($"notifications: change events unavailable ({ex.Message}); polling every {_pollInterval.TotalMilliseconds:0} ms");
            return null;
        }
    }
}
