using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Checkpoints;

/// <summary>
/// A write-only stream onto a part's file that counts and hashes what the solver writes, so a part's size
/// and SHA-256 cost no second read. It writes with positional writes on the file's handle (no FileStream
/// buffer copy for large writes). Disposing it keeps the file open (the framework still flushes it);
/// <see cref="FinishHash"/> ends it.
/// </summary>
/// <remarks>
/// Small writes are gathered in a 1 MiB buffer (a solver may write a value at a time); large ones go to the
/// file in 1 MiB chunks straight from the caller's memory. Not thread-safe: one writer, the loop's thread.
/// </remarks>
internal sealed class HashingWriteStream : Stream
{
    private const int ChunkBytes = 1 << 20;

    private readonly SafeFileHandle _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
    private int _buffered;
    private long _length;
    private bool _closed;

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

    /// <summary>Writes what is still buffered and returns the SHA-256 of everything written, lower-case hex; ends the stream.</summary>
    public string FinishHash()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        WriteBuffered();
        _closed = true;
        var hex = Convert.ToHexStringLower(_hash.GetHashAndReset());
        _hash.Dispose();
        ReturnBuffer();
        return hex;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
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
        // Deliberately keeps the file open and the hash readable (a solver's `using` ends here).
        base.Dispose(disposing);
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
        _hash.AppendData(chunk);
        _length += chunk.Length;
    }

    private void ReturnBuffer()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
