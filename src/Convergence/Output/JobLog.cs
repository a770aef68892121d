using System.Collections.Concurrent;
using System.Globalization;

namespace Convergence.Output;

/// <summary>
/// The job's log on stdout (which the service keeps for the user). Lines are queued and written by a
/// background thread, so a slow or full stdout pipe never stalls the iteration loop.
/// </summary>
/// <remarks>Thread-safe: any thread may call <see cref="Write"/>. <see cref="Flush"/> waits for the queue to drain.</remarks>
public sealed class JobLog : IDisposable
{
    private readonly BlockingCollection<string> _lines = new(new ConcurrentQueue<string>(), 10_000);
    private readonly TextWriter _writer;
    private readonly Thread _thread;
    private readonly string _prefix;
    private long _written;
    private long _queued;
    private long _dropped;

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

    /// <summary>Queues one line, time-stamped. Never blocks; if 10,000 lines are waiting the line is counted as dropped.</summary>
    public void Write(string message)
    {
        var line = $"{DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} {_prefix}{message}";
        if (_lines.IsAddingCompleted || !_lines.TryAdd(line))
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        Interlocked.Increment(ref _queued);
    }

    /// <summary>Waits up to <paramref name="timeout"/> for every queued line to be written.</summary>
    public void Flush(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (Interlocked.Read(ref _written) < Interlocked.Read(ref _queued) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(1);
        }

        var dropped = Interlocked.Exchange(ref _dropped, 0);
        if (dropped > 0)
        {
            _writer.WriteLine($"{_prefix}log: {dropped} lines dropped because stdout did not keep up");
        }

        _writer.Flush();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Flush();
        _lines.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(2));
    }

    private void Drain()
    {
        foreach (var line in _lines.GetConsumingEnumerable())
        {
            try
            {
                _writer.WriteLine(line);
                if (_lines.Count == 0)
                {
                    _writer.Flush();
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
