using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Intake;

/// <summary>One notifications file the tail holds open: the handle, how far it has been read, its unfinished line.</summary>
/// <remarks>
/// While a file is read from its start, the bytes read are also hashed (up to <see cref="ContentFingerprint.HeadBytes"/>),
/// and the hash is noted at each line end: the fingerprint of what was consumed is then known without reading the
/// file again, so a rewrite can be recognised even when the old file can no longer be read (deleted on an NFS
/// server from another node: ESTALE).
/// </remarks>
internal sealed class TailSource(SafeFileHandle handle, FileIdentity identity, int maxLineBytes, Func<bool>? wantPreview = null) : IDisposable
{
    private readonly byte[] _lineEndHash = new byte[32];
    private IncrementalHash? _hash;
    private long _hashedTo;
    private long _lineEndHashAt = -1;

    /// <summary>The open handle; reads go through it even after the path points elsewhere.</summary>
    public SafeFileHandle Handle { get; private set; } = handle;

    /// <summary>Which file this is.</summary>
    public FileIdentity Identity { get; } = identity;

    /// <summary>Bytes consumed so far.</summary>
    public long Offset { get; set; }

    /// <summary>
    /// Where the last complete line consumed ends (0 before the first), or the end of what was skipped at start:
    /// what a replacement must begin with to continue it.
    /// </summary>
    public long LineEnd { get; set; }

    /// <summary>
    /// True while the bytes after <see cref="LineEnd"/> up to the next <c>\n</c> are the rest of a message that was
    /// being written when the job started (skipped, never parsed); a rewrite that continues this file skips them too.
    /// </summary>
    public bool SkipAtLineEnd { get; set; }

    /// <summary>The descriptor is dead for good (ESTALE): never read again, only its known fingerprint is used.</summary>
    public bool Stale { get; set; }

    /// <summary>
    /// The file this one replaced, while this one has not been read yet: if this file begins with exactly what
    /// was consumed from it, reading continues after that instead of at 0.
    /// </summary>
    public TailSource? Predecessor { get; set; }

    /// <summary>The unfinished line of this file.</summary>
    public LineAssembler Lines { get; } = new(maxLineBytes, wantPreview);

    /// <summary>When the path stopped pointing at this file (<see cref="System.Diagnostics.Stopwatch"/> ticks); 0 while current.</summary>
    public long RetiredAt { get; set; }

    /// <summary>The fingerprint of the bytes before <see cref="LineEnd"/> when it is known without reading; else null.</summary>
    public ContentFingerprint? KnownConsumed => _lineEndHashAt == LineEnd && _lineEndHashAt >= 0
        ? new ContentFingerprint(LineEnd, Convert.ToHexStringLower(_lineEndHash))
        : null;

    /// <summary>Starts hashing at byte 0: the file is to be read from its start.</summary>
    public void HashFromStart() => RestartHash(IncrementalHash.CreateHash(HashAlgorithmName.SHA256), 0);

    /// <summary>A new descriptor for the same file (the old one went stale); the old one is closed.</summary>
    public void ReplaceHandle(SafeFileHandle replacement)
    {
        Handle.Dispose();
        Handle = replacement;
        Stale = false;
    }

    /// <summary>
    /// Hashing starts again at <paramref name="at"/> (a line end) with <paramref name="prefix"/>, which holds the
    /// hash of the bytes before it; null: not hashed from here on (the fingerprint is read from the file when needed).
    /// </summary>
    public void RestartHash(IncrementalHash? prefix, long at)
    {
        _hash?.Dispose();
        _hash = prefix;
        _hashedTo = at;
        _lineEndHashAt = -1;
        if (prefix is not null && at <= ContentFingerprint.HeadBytes)
        {
            prefix.GetCurrentHash(_lineEndHash);
            _lineEndHashAt = at;
        }
        else
        {
            StopHashing();
        }
    }

    /// <summary>Hashes bytes just read at <paramref name="at"/>; <paramref name="lastNewline"/> is the index of their last <c>\n</c> or -1.</summary>
    public void Hash(ReadOnlySpan<byte> chunk, long at, int lastNewline)
    {
        if (_hash is not { } hash || _hashedTo != at)
        {
            return;
        }

        if (at + chunk.Length > ContentFingerprint.HeadBytes)
        {
            // Past the head the fingerprint covers a window that moves: it is read from the file when needed.
            StopHashing();
            return;
        }

        if (lastNewline >= 0)
        {
            hash.AppendData(chunk[..(lastNewline + 1)]);
            hash.GetCurrentHash(_lineEndHash);
            _lineEndHashAt = at + lastNewline + 1;
            hash.AppendData(chunk[(lastNewline + 1)..]);
        }
        else
        {
            hash.AppendData(chunk);
        }

        _hashedTo = at + chunk.Length;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Handle.Dispose();
        StopHashing();
    }

    private void StopHashing()
    {
        _hash?.Dispose();
        _hash = null;
    }
}
