using System.Text;

namespace Convergence.Intake;

/// <summary>
/// Follows the notifications file the way <c>tail -F</c> does and hands out each complete line once.
/// </summary>
/// <remarks>
/// Not thread-safe: one thread (rank 0's watcher) polls. The file may be missing, appear, grow, shrink or
/// be re-created; an unfinished line waits for its <c>\n</c>.
/// </remarks>
public sealed class NotificationTail : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string _path;
    private readonly int _maxLineBytes;
    private readonly byte[] _readBuffer = new byte[64 * 1024];
    private readonly MemoryStream _partial = new();
    private long _offset;
    private bool _discardingOverlong;
    private long _overlongLength;

    /// <summary>Starts following <paramref name="path"/>.</summary>
    /// <param name="path">The notifications file; it need not exist yet.</param>
    /// <param name="maxLineBytes">Longer lines are rejected and skipped without being buffered whole.</param>
    /// <param name="replayExisting">Deliver what the file holds now; by default it is skipped as an earlier run's.</param>
    public NotificationTail(string path, int maxLineBytes = 4096, bool replayExisting = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 16);
        _path = path;
        _maxLineBytes = maxLineBytes;
        if (!replayExisting && File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            var end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
            _offset = end;
            SkippedBytes = end;
            SkippedLines = bytes.AsSpan(0, end).Count((byte)'\n');
            _partial.Write(bytes, end, bytes.Length - end);
        }
    }

    /// <summary>Bytes of complete lines present at start and skipped.</summary>
    public long SkippedBytes { get; }

    /// <summary>Lines present at start and skipped.</summary>
    public long SkippedLines { get; }

    /// <summary>The file being followed.</summary>
    public string Path => _path;

    /// <summary>Reads what is new and appends one <see cref="TailLine"/> per complete line to <paramref name="lines"/>.</summary>
    /// <returns>The number of lines appended.</returns>
    public int Poll(List<TailLine> lines)
    {
        var before = lines.Count;
        FileStream stream;
        try
        {
            stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
        catch (DirectoryNotFoundException)
        {
            return 0;
        }

        using (stream)
        {
            var length = stream.Length;
            if (length < _offset)
            {
                _offset = 0;
            }

            stream.Position = _offset;
            int read;
            while ((read = stream.Read(_readBuffer, 0, _readBuffer.Length)) > 0)
            {
                _offset += read;
                Split(_readBuffer.AsSpan(0, read), lines);
            }
        }

        return lines.Count - before;
    }

    /// <inheritdoc />
    public void Dispose() => _partial.Dispose();

    private void Split(ReadOnlySpan<byte> data, List<TailLine> lines)
    {
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            var chunk = newline < 0 ? data : data[..newline];
            if (_discardingOverlong)
            {
                _overlongLength += chunk.Length;
            }
            else if (_partial.Length + chunk.Length > _maxLineBytes)
            {
                _discardingOverlong = true;
                _overlongLength = _partial.Length + chunk.Length;
                _partial.SetLength(0);
            }
            else
            {
                _partial.Write(chunk);
            }

            if (newline < 0)
            {
                return;
            }

            lines.Add(_discardingOverlong
                ? new TailLine(null, $"line of at least {_overlongLength} bytes is longer than the limit of {_maxLineBytes} bytes; skipped")
                : Decode(_partial.GetBuffer().AsSpan(0, (int)_partial.Length)));
            _partial.SetLength(0);
            _discardingOverlong = false;
            _overlongLength = 0;
            data = data[(newline + 1)..];
        }
    }

    private static TailLine Decode(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.IsEmpty && bytes[^1] == (byte)'\r')
        {
            bytes = bytes[..^1];
        }

        if (bytes.Contains((byte)0))
        {
            return new TailLine(null, "NUL byte in message (binary data?); skipped");
        }

        try
        {
            return new TailLine(StrictUtf8.GetString(bytes), null);
        }
        catch (DecoderFallbackException)
        {
            return new TailLine(null, "message is not valid UTF-8; skipped");
        }
    }
}
