using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Checkpoints;

/// <summary>
/// A write-only stream onto a part's file that counts and hashes what the solver writes, so a part's size
/// and SHA-256 cost no second read. It writes with positional writes on the file's handle (no FileStream
/// buffer copy for large writes) and, on Linux, starts the device write of each chunk at once, so the disk
/// works while the next chunk is hashed. Disposing it keeps the file open (the framework still flushes it);
/// <see cref="FlushAndHash"/> ends it and <see cref="Release"/> returns its buffer.
/// </summary>
/// <remarks>
/// Small writes are gathered in a 1 MiB buffer (a solver may write a value at a time); large ones go to the
/// file in 1 MiB chunks straight from the caller's memory. Each chunk is written, its writeback started
/// (<c>sync_file_range</c> with <c>SYNC_FILE_RANGE_WRITE</c>: a hint that queues the pages for the device
/// and returns; durability still comes from the fsync at the end), then hashed: SHA-256 needs the CPU, the
/// device write does not, so they overlap and the final fsync finds most pages already written (measured in
/// benchmarks/RESULTS.md). Not thread-safe: one writer, the loop's thread.
/// </remarks>
internal sealed partial class HashingWriteStream : Stream
{
    private const int ChunkBytes = 1 << 20;

    // SYNC_FILE_RANGE_WRITE: start writing the range's dirty pages, do not wait.
    private const uint StartWriteback = 2;

    private static readonly bool HintWriteback = OperatingSystem.IsLinux();

    private readonly SafeFileHandle _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
    private int _buffered;
    private long _length;
    private bool _closed;

    /// <summary>Writes onto <paramref name="file"/> from offset 0.</summary>
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
    /// Writes what is still buffered, cuts the file to what was written (a reused part may be longer), flushes
    /// it to disk and returns the SHA-256 of everything written, lower-case hex. Ends the stream.
    /// </summary>
    /// <exception cref="IOException">The write or the flush failed.</exception>
    public string FlushAndHash()
    {
        ObjectDisposedException.ThrowIf(_closed || _buffer is null, this);
        WriteBuffered();
        _closed = true;
        if (RandomAccess.GetLength(_file) > _length)
        {
            RandomAccess.SetLength(_file, _length);
        }

        RandomAccess.FlushToDisk(_file);
        return Convert.ToHexStringLower(_hash.GetHashAndReset());
    }

    /// <summary>Returns the pooled buffer and the hash; the stream cannot be written after. Safe to call more than once.</summary>
    public void Release()
    {
        _closed = true;
        _hash.Dispose();
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
        // Deliberately keeps the file open and the hash readable (a solver's `using` ends here, before the
        // flush); the framework calls Release.
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
        if (HintWriteback)
        {
            // Only a hint: where the file system refuses it, the fsync at the end writes everything anyway.
            _ = SyncFileRange(_file, _length, chunk.Length, StartWriteback);
        }

        _hash.AppendData(chunk);
        _length += chunk.Length;
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long nbytes, uint flags);
}
