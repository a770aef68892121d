using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Intake;

/// <summary>
/// What was consumed from a notifications file, identified by content rather than by inode: its first
/// <see cref="Length"/> bytes, summarised by a SHA-256. A file whose beginning has the same fingerprint holds
/// the same messages there, whatever its inode (a rewrite by <c>sed -i</c>, an editor's save, a copy).
/// </summary>
/// <remarks>
/// Up to <see cref="HeadBytes"/> the whole prefix is hashed. A longer prefix (only a flood makes one) is
/// summarised by its first <see cref="HeadBytes"/> and its last <see cref="TailBytes"/> bytes, so computing
/// or checking a fingerprint reads at most 16.06 MB however large the file is.
/// </remarks>
/// <param name="Length">How many bytes from the start of the file it covers.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of those bytes (see remarks for long prefixes).</param>
public readonly record struct ContentFingerprint(long Length, string Sha256)
{
    /// <summary>A prefix up to this length is hashed whole.</summary>
    public const long HeadBytes = 16L << 20;

    /// <summary>Of a longer prefix, its last this many bytes are hashed after the head.</summary>
    public const long TailBytes = 64L << 10;

    /// <summary>The fingerprint of the first <paramref name="length"/> bytes of the file open as <paramref name="handle"/>.</summary>
    /// <exception cref="EndOfStreamException">The file is shorter than <paramref name="length"/>.</exception>
    public static ContentFingerprint Of(SafeFileHandle handle, long length) => Of(ReadErrors.Direct, handle, length, null);

    /// <summary>
    /// The fingerprint of the first <paramref name="length"/> bytes, read through <paramref name="reader"/>. With
    /// <paramref name="into"/> (a fresh SHA-256), the bytes are hashed into it and it is left open, so that a caller
    /// can go on hashing what follows (meaningful only up to <see cref="HeadBytes"/>).
    /// </summary>
    /// <exception cref="EndOfStreamException">The file is shorter than <paramref name="length"/>.</exception>
    internal static ContentFingerprint Of(ITailReader reader, SafeFileHandle handle, long length, IncrementalHash? into)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (into is not null)
        {
            return Hash(reader, handle, length, into, keepOpen: true);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        return Hash(reader, handle, length, hash, keepOpen: false);
    }

    /// <summary>
    /// True when the file open as <paramref name="handle"/> (of <paramref name="size"/> bytes) begins with the
    /// content this fingerprint covers; false when it is shorter or differs.
    /// </summary>
    public bool Matches(SafeFileHandle handle, long size) => Matches(ReadErrors.Direct, handle, size, null);

    /// <summary>As <see cref="Matches(SafeFileHandle, long)"/>, reading through <paramref name="reader"/>, hashing into <paramref name="into"/> when given.</summary>
    internal bool Matches(ITailReader reader, SafeFileHandle handle, long size, IncrementalHash? into)
    {
        if (size < Length)
        {
            return false;
        }

        try
        {
            return Of(reader, handle, Length, into) == this;
        }
        catch (EndOfStreamException)
        {
            // Truncated between the size check and the read: not the same content.
            return false;
        }
    }

    private static ContentFingerprint Hash(ITailReader reader, SafeFileHandle handle, long length, IncrementalHash hash, bool keepOpen)
    {
        var buffer = new byte[64 * 1024];
        var head = Math.Min(length, HeadBytes);
        HashRange(reader, handle, 0, head, hash, buffer);
        if (length > head)
        {
            var tailStart = Math.Max(head, length - TailBytes);
            HashRange(reader, handle, tailStart, length - tailStart, hash, buffer);
        }

        return new ContentFingerprint(length, Convert.ToHexStringLower(keepOpen ? hash.GetCurrentHash() : hash.GetHashAndReset()));
    }

    private static void HashRange(ITailReader reader, SafeFileHandle handle, long offset, long count, IncrementalHash hash, byte[] buffer)
    {
        while (count > 0)
        {
            var read = reader.ReadRetryingInterrupts(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, count)), offset);
            if (read == 0)
            {
                throw new EndOfStreamException($"the file ended {count} bytes before the length the fingerprint covers");
            }

            hash.AppendData(buffer, 0, read);
            offset += read;
            count -= read;
        }
    }
}
