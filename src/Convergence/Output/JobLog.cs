using System.Collections.Concurrent;
using System.Globalization;

namespace Convergence.Output;

/// <summary>
/// The job's log on stdout (which the service keeps for the user). Lines are queued and written by a
/// background thread, so a slow or full stdout pipe never stalls the iteration loop.
/// </summary>
/// <remarks>
/// <para>Thread-safe: any thread may call <see cref="Write"/> and <see cref="WriteAlways"/>. <see cref="Flush"/> waits for the queue to drain.</para>
/// <para>
/// Two kinds of line share one queue, so their order is kept: ordinary lines (progress, notices) are dropped
/// and counted when <see cref="MaxQueuedLines"/> are waiting; lines written with <see cref="WriteAlways"/>
/// (a command's received/applied/rejected acknowledgement, the end line) are queued whatever the queue
/// holds. Their number is bounded by what the job does (commands applied, one end line), not by what a
/// sender writes into the notifications file, so memory stays bounded.
/// </para>
/// </remarks>
public sealed class JobLog : IDisposable
{
    /// <summary>Ordinary lines waiting beyond this number are dropped (and counted).</summary>
    public const int MaxQueuedLines = 10_000;

    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _available = new(0);
    private readonly TextWriter _writer;
    private readonly Thread _thread;
    private readonly string _prefix;
    private long _written;
    private long _queued;
    private long _dropped;
    private volatile bool _completed;

    /// <summary>Creates a log that writes to <paramref name="writer"/> (stdout by default).</summary>
    /// <param name="prefix">Written before every line, e.g. <c>[rank 0]</c>; empty for none.</param>
    /// <param name="writer">Where lines go.</param>
    public JobLog(string prefix = "", TextWriter? writer = null)
    {
        _prefix = prefix;
        _writer = writer ?? Console.Out;
        _thread = new Thread(Drain) { IsBackground = true, Name = "convergence-log" };
        _thread.Start();
    }

    /// <summary>Lines dropped so far because stdout did not keep up (reported by <see cref="Flush"/>).</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Queues one line, time-stamped. Never blocks; if <see cref="MaxQueuedLines"/> lines are waiting the line is counted as dropped.</summary>
    public void Write(string message) => Enqueue(message, essential: false);

    /// <summary>
    /// Queues one line that is never dropped, time-stamped: for lines a user or a workflow relies on (a
    /// command's acknowledgement, the end line). Never blocks.
    /// </summary>
    public void WriteAlways(string message) => Enqueue(message, essential: true);

    /// <summary>Waits up to <paramref name="timeout"/> for every queued line to be written.</summary>
    public void Flush(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (Interlocked.Read(ref _written) < Interlocked.Read(ref _queued) && DateTime.UtcNow < deadline && _thread.IsAlive)
        {
            Thread.Sleep(1);
        }

        var dropped = Interlocked.Exchange(ref _dropped, 0);
        lock (_writer)
        {
            if (dropped > 0)
            {
                _writer.WriteLine($"{_prefix}log: {dropped} lines dropped because stdout did not keep up");
            }

            _writer.Flush();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Flush();
        _completed = true;
        _available.Release();
        _thread.Join(TimeSpan.FromSeconds(2));
    }

    private void Enqueue(string message, bool essential)
    {
        var line = $"{DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} {_prefix}{message}";
        if (_completed)
        {
            if (essential)
            {
                // After Dispose there is no thread to hand it to: a line that must not be lost is written here.
                lock (_writer)
                {
                    _writer.WriteLine(line);
                    _writer.Flush();
                }
            }
            else
            {
                Interlocked.Increment(ref _dropped);
            }

            return;
        }

        // The check and the increment are not one step: a few ordinary lines past the limit may slip in
        // when threads race, which bounds the queue just the same.
        if (!essential && Interlocked.Read(ref _queued) - Interlocked.Read(ref _written) >= MaxQueuedLines)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        Interlocked.Increment(ref _queued);
        _lines.Enqueue(line);
        _available.Release();
    }

    private void Drain()
    {
        while (true)
        {
            _available.Wait();
            if (!_lines.TryDequeue(out var line))
            {
                if (_completed)
                {
                    return;
                }

                continue;
            }

            try
            {
                lock (_writer)
                {
                    _writer.WriteLine(line);
                    if (_lines.IsEmpty)
                    {
                        _writer.Flush();
                    }
                }
            }
            catch (IOException)
            {
                // stdout closed: nothing more to tell anyone.
            }

            Interlocked.Increment(ref _written);
        }
    }
}
