using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Checkpoints;

/// <summary>
/// A write-only stream onto a part's file that counts what the solver writes and, at the end, flushes the
/// file to disk and computes its SHA-256 at the same time (<see cref="FlushAndHash"/>). It writes with
/// positional writes on the file's handle (no FileStream buffer copy for large writes). Disposing it keeps
/// the file open (the framework still flushes it); <see cref="Release"/> returns its buffer.
/// </summary>
/// <remarks>
/// Small writes are gathered in a 1 MiB buffer (a solver may write a value at a time); large ones go to the
/// file in 1 MiB chunks straight from the caller's memory. The hash is not taken as the solver writes: a
/// flush waits for the device, hashing needs the CPU, so hashing the file back from the page cache while
/// another thread waits in the flush hides most of SHA-256's cost (measured in benchmarks/RESULTS.md).
/// What is hashed is what the file holds, read back, so the checksum covers the bytes the disk gets.
/// Not thread-safe: one writer, the loop's thread; the flush thread only calls fsync on the handle.
/// </remarks>
internal sealed class HashingWriteStream : Stream
{
    private const int ChunkBytes = 1 << 20;

    private readonly SafeFileHandle _file;
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
    private int _buffered;
    private long _length;
    private bool _closed;

    /// <summary>Writes onto <paramref name="file"/> (opened for reading and writing) from offset 0.</summary>
    public HashingWriteStream(SafeFileHandle file) => _file = file;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_closed;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException("a checkpoint stream is written front to back");
    }

    /// <summary>
    /// Writes what is still buffered, cuts the file to what was written, then flushes the file to disk on a worker thread while this thread reads
    /// it back and hashes it; returns when both are done with the SHA-256 of everything written, lower-case
    /// hex. Ends the stream.
    /// </summary>
    /// <exception cref="IOException">The write, the flush or the read-back failed, or the file changed size meanwhile.</exception>
    public string FlushAndHash()
    {
        ObjectDisposedException.ThrowIf(_closed || _buffer is null, this);
        WriteBuffered();
        _closed = true;

        // A reused part (see CheckpointStore.WritePart) may be longer than what was written now.
        if (RandomAccess.GetLength(_file) > _length)
        {
            RandomAccess.SetLength(_file, _length);
        }

        var flush = Task.Run(() => RandomAccess.FlushToDisk(_file));
        try
        {
            return HashBack(_buffer);
        }
        finally
        {
            // Waited for on every path: the caller closes the handle next, and a failed flush must surface.
            flush.GetAwaiter().GetResult();
        }
    }

    /// <summary>Returns the pooled buffer; the stream cannot be written after. Safe to call more than once.</summary>
    public void Release()
    {
        _closed = true;
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_closed || _buffer is null, this);
        if (_buffered > 0)
        {
            var fits = Math.Min(buffer.Length, ChunkBytes - _buffered);
            buffer[..fits].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += fits;
            buffer = buffer[fits..];
            if (_buffered == ChunkBytes)
            {
                WriteBuffered();
            }
        }

        while (buffer.Length >= ChunkBytes)
        {
            WriteChunk(buffer[..ChunkBytes]);
            buffer = buffer[ChunkBytes..];
        }

        if (buffer.Length > 0)
        {
            buffer.CopyTo(_buffer.AsSpan(_buffered));
            _buffered += buffer.Length;
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush()
    {
        // The framework flushes (and fsyncs) the file itself once the solver is done.
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("a checkpoint stream is write-only");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a checkpoint stream is written front to back");

    public override void SetLength(long value) => throw new NotSupportedException("a checkpoint stream is written front to back");

    protected override void Dispose(bool disposing)
    {
        // Deliberately keeps the file open and the buffer (a solver's `using` ends here, before the flush);
        // the framework calls Release.
        base.Dispose(disposing);
    }

    private string HashBack(byte[] buffer)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long offset = 0;
        while (offset < _length)
        {
            var want = (int)Math.Min(ChunkBytes, _length - offset);
            var read = RandomAccess.Read(_file, buffer.AsSpan(0, want), offset);
            if (read <= 0)
            {
                throw new IOException(FormattableString.Invariant($"checkpoint part ended at {offset} of {_length} bytes while it was being hashed (truncated by another process?)"));
            }

            hash.AppendData(buffer.AsSpan(0, read));
            offset += read;
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private void WriteBuffered()
    {
        if (_buffered > 0)
        {
            WriteChunk(_buffer.AsSpan(0, _buffered));
            _buffered = 0;
        }
    }

    private void WriteChunk(ReadOnlySpan<byte> chunk)
    {
        RandomAccess.Write(_file, chunk, _length);
        _length += chunk.Length;
    }
}
