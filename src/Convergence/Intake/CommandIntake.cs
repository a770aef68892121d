using System.Collections.Concurrent;
using Convergence.Commands;
using Convergence.Journal;

namespace Convergence.Intake;

/// <summary>
/// Rank 0's watcher: a background thread that polls the notifications file, parses each line, records it
/// in the journal and queues accepted commands for the control loop.
/// </summary>
/// <remarks>
/// Single producer (the watcher thread), single consumer (the control loop's thread, through
/// <see cref="TryDequeue"/>). The watcher never calls MPI.
/// </remarks>
public sealed class CommandIntake : IDisposable
{
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
    private long _polls;

    /// <summary>Starts watching at once.</summary>
    public CommandIntake(NotificationTail tail, CommandParser parser, CommandJournal journal, TimeSpan pollInterval, bool useChangeNotifications, Action<string> log)
    {
        _tail = tail;
        _parser = parser;
        _journal = journal;
        _pollInterval = pollInterval;
        _log = log;
        if (useChangeNotifications)
        {
            _watcher = TryWatch(tail.Path);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "convergence-notifications" };
        _thread.Start();
    }

    /// <summary>True when no command is waiting. Cheap: no lock, no allocation.</summary>
    public bool IsEmpty => _queue.IsEmpty;

    /// <summary>How many polls have run (for the watcher-cost figures).</summary>
    public long Polls => Interlocked.Read(ref _polls);

    /// <summary>Takes the oldest waiting command.</summary>
    public bool TryDequeue(out PendingCommand command) => _queue.TryDequeue(out command!);

    /// <summary>Polls once more on the caller's thread after stopping the watcher, so a message sent just before the end is recorded.</summary>
    public void StopAndDrain()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _wake.Set();
        _thread.Join();
        PollOnce();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        StopAndDrain();
        _watcher?.Dispose();
        _wake.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                PollOnce();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log($"notifications: cannot read {_tail.Path}: {ex.Message} (will retry)");
            }

            _wake.WaitOne(_pollInterval);
        }
    }

    private readonly List<TailLine> _lines = [];

    private void PollOnce()
    {
        _lines.Clear();
        _tail.Poll(_lines);
        Interlocked.Increment(ref _polls);
        foreach (var line in _lines)
        {
            if (line.Text is null)
            {
                _journal.Rejected("(unreadable line)", null, line.Rejection ?? "unreadable");
                continue;
            }

            var result = _parser.Parse(line.Text);
            if (result.IsBlank)
            {
                continue;
            }

            if (result.Command is { } command)
            {
                var sequence = _journal.Received(command, line.Text.Trim());
                _queue.Enqueue(new PendingCommand(sequence, command));
            }
            else
            {
                _journal.Rejected(line.Text.Trim(), result.ClientId, result.Rejection!);
            }
        }
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
            watcher.Changed += (_, _) => _wake.Set();
            watcher.Created += (_, _) => _wake.Set();
            watcher.Renamed += (_, _) => _wake.Set();
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
