using System.Security.Cryptography;

namespace Convergence.Checkpoints;

/// <summary>
/// A write-only pass-through that counts and hashes what the solver writes, so a part's size and SHA-256
/// cost no second read. Disposing it leaves the inner stream open: the framework still has to flush it.
/// </summary>
internal sealed class HashingWriteStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _length;
    private bool _closed;

    public HashingWriteStream(Stream inner) => _inner = inner;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_closed;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException("a checkpoint stream is written front to back");
    }

    /// <summary>The SHA-256 of everything written, lower-case hex; ends the stream.</summary>
    public string FinishHash()
    {
        _closed = true;
        var hex = Convert.ToHexStringLower(_hash.GetHashAndReset());
        _hash.Dispose();
        return hex;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        _inner.Write(buffer);
        _hash.AppendData(buffer);
        _length += buffer.Length;
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
        // Deliberately keeps the inner stream open and the hash readable (a solver's `using` ends here).
        base.Dispose(disposing);
    }
}
