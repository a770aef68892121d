using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Intake;

/// <summary>
/// Follows the notifications file the way <c>tail -F</c> does and hands out each complete line exactly
/// once, in order, whatever happens to the file.
/// </summary>
/// <remarks>
/// <para>
/// Not thread-safe: one thread (rank 0's watcher) calls <see cref="Poll"/> and <see cref="TryRemoveFile"/>.
/// </para>
/// <para>
/// The tail keeps the file open and remembers a byte offset. A poll costs one <c>stat</c> of the path plus
/// reading the bytes that are new, however large the file has grown. When the path names another file
/// than the one held open (deleted, renamed, re-created), the old file is kept open for a grace period and
/// read to its end before the new one is read, so a sender that was still appending to it loses nothing.
/// The new file is read from its start, unless it begins with exactly the complete lines already consumed
/// from the file it replaced (compared by <see cref="ContentFingerprint"/> while that file is still open):
/// then it is the same messages rewritten (<c>sed -i '$a STOP'</c>, an editor's save, an atomic rewrite by
/// a tool) and reading continues after them, so no earlier command is applied twice. A file that shrank
/// was truncated: reading starts again at 0.
/// An unfinished line waits for its <c>\n</c>; a line longer than the limit is reported once and skipped
/// without being held; memory stays bounded by the line limit per open file.
/// </para>
/// <para>
/// Order: each poll notes how long the current file is before it drains the replaced ones, and reads the
/// current file only up to that length. A sender writing one message after another into a file that is
/// being replaced therefore never has a later message delivered before an earlier one.
/// </para>
/// </remarks>
public sealed class NotificationTail : IDisposable
{
    /// <summary>Files up to this size have their skipped lines counted at start; larger ones report bytes only.</summary>
    internal const long CountSkippedLinesUpTo = 8L << 20;

    /// <summary>At most this many replaced files are kept open; beyond it the oldest is read a last time and closed.</summary>
    internal const int MaxRetired = 128;

    /// <summary>An unfinished last line older than this at start is a fragment nobody is writing any more.</summary>
    internal static readonly TimeSpan UnfinishedLineStaleAfter = TimeSpan.FromSeconds(5);

    private const int ReadChunk = 64 * 1024;

    private readonly string _path;
    private readonly int _maxLineBytes;
    private readonly byte[] _buffer = new byte[ReadChunk];
    private readonly List<TailSource> _retired = [];
    private TailSource? _current;
    private bool _removedByUs;
    private string? _notice;
    private bool _disposed;

    /// <summary>Starts following <paramref name="path"/>.</summary>
    /// <param name="path">The notifications file; it need not exist yet.</param>
    /// <param name="maxLineBytes">Longer lines are rejected and skipped without being buffered whole.</param>
    /// <param name="replayExisting">Deliver what the file holds now; by default it is skipped as an earlier run's.</param>
    /// <remarks>
    /// When skipping, the tail starts at the current end of the file without reading it; only files up to
    /// 8 MB are read to count their lines. If the content ends in an unfinished line that was written in the
    /// last 5 seconds, a sender is taken to be still writing it: its rest, up to the next <c>\n</c>, is skipped
    /// too (and reported). An older unfinished line is a fragment nobody will finish: the next bytes start a
    /// new message.
    /// </remarks>
    public NotificationTail(string path, int maxLineBytes = 4096, bool replayExisting = false)
        : this(path, maxLineBytes, replayExisting, null)
    {
    }

    /// <summary>Starts following <paramref name="path"/> where an earlier job stopped reading it (<paramref name="startAt"/>).</summary>
    /// <param name="path">The notifications file; it need not exist yet.</param>
    /// <param name="maxLineBytes">Longer lines are rejected and skipped without being buffered whole.</param>
    /// <param name="replayExisting">Deliver what the file holds now; by default it is skipped as an earlier run's.</param>
    /// <param name="startAt">
    /// Where the previous link of a chained job stopped: the same file (same path, device and inode) is read
    /// from that offset (from 0 if it shrank); a file at the path modified after the position was taken is a
    /// re-created one, read from its start. Otherwise, or when null, the tail starts as the other constructor does.
    /// </param>
    public NotificationTail(string path, int maxLineBytes, bool replayExisting, NotificationPosition? startAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 16);
        _path = path;
        _maxLineBytes = maxLineBytes;
        if (!UnixFileStatus.TryStat(path, out var status) || !status.IsRegularFile)
        {
            return;
        }

        _current = Open(out status);
        if (_current is null || replayExisting)
        {
            return;
        }

        if (startAt is not null && ContinueFrom(startAt, status))
        {
            return;
        }

        var size = status.Size;
        _current.Offset = size;
        _current.LineEnd = size;
        SkippedBytes = size;
        if (size == 0)
        {
            return;
        }

        try
        {
            var unfinished = EndsInUnfinishedLine(size);
            if (unfinished)
            {
                // Where that line starts is not known without reading back: no rewrite is recognised until the next \n.
                _current.LineEnd = 0;
            }

            if (unfinished && DateTime.UtcNow - status.LastWriteUtc < UnfinishedLineStaleAfter)
            {
                _current.Lines.SkipRestOfEarlierMessage();
            }

            SkippedLines = size <= CountSkippedLinesUpTo ? CountNewlines(size) + (unfinished ? 1 : 0) : -1;
        }
        catch
        {
            _current.Dispose();
            throw;
        }
    }

    /// <summary>Bytes present at start and skipped (0 when replaying).</summary>
    public long SkippedBytes { get; private set; }

    /// <summary>Lines present at start and skipped; -1 when the file was too large to count them cheaply.</summary>
    public long SkippedLines { get; private set; }

    /// <summary>How the start position was chosen when continuing an earlier job (null when not asked to).</summary>
    public string? ContinuedFrom { get; private set; }

    /// <summary>
    /// Where reading stands in the current file: its identity, the offset of the first byte of a line not yet
    /// delivered, and a check of the bytes before it. Null when no file is open. Reads up to
    /// <see cref="NotificationPosition.CheckBytes"/> bytes: call it from the thread that polls, or after the last poll.
    /// </summary>
    public NotificationPosition? TakePosition()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_current is null)
        {
            return null;
        }

        // An unfinished line is read again from its start by whoever continues from here.
        var offset = Math.Max(0, _current.Offset - _current.Lines.Buffered);
        var check = CheckBefore(_current, offset);
        return check is null
            ? null
            : new NotificationPosition(System.IO.Path.GetFullPath(_path), _current.Identity.Device, _current.Identity.Inode, offset, DateTimeOffset.UtcNow, check);
    }

    /// <summary>The file being followed.</summary>
    public string Path => _path;

    /// <summary>Most bytes one <see cref="Poll"/> reads; the rest waits for the next poll (see <see cref="HasMore"/>).</summary>
    internal int MaxBytesPerPoll { get; set; } = 1 << 20;

    /// <summary>How long a replaced file is kept open for senders that are still writing into it.</summary>
    internal TimeSpan RetiredGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>True when the last poll stopped at <see cref="MaxBytesPerPoll"/> with more to read.</summary>
    internal bool HasMore { get; private set; }

    /// <summary>Bytes read from files since the tail was created, including the start-up look at the end of the file.</summary>
    internal long BytesRead { get; private set; }

    /// <summary>Bytes the last <see cref="Poll"/> read.</summary>
    internal long LastPollBytesRead { get; private set; }

    /// <summary>Bytes held for unfinished lines, over all open files.</summary>
    internal long BufferedBytes => (_current?.Lines.Buffered ?? 0) + _retired.Sum(r => (long)r.Lines.Buffered);

    /// <summary>Files held open: the current one plus replaced ones still in their grace period.</summary>
    internal int OpenFiles => (_current is null ? 0 : 1) + _retired.Count;

    /// <summary>Something the watcher should log (the path is not a regular file); null when all is well.</summary>
    internal string? Warning { get; private set; }

    /// <summary>
    /// Asked before a rejected line's preview is built (false: the journal will only count it, so the work is
    /// skipped). Null: always build previews. Set by the watcher before its first poll.
    /// </summary>
    internal Func<bool>? PreviewFilter { get; set; }

    /// <summary>Bytes not read again because a replacing file began with them (see the class remarks).</summary>
    internal long ContinuedBytes { get; private set; }

    /// <summary>
    /// The fingerprint of the complete lines consumed from the current file (reads up to about 16 MB of it);
    /// default when there is none. For recording where a later run may continue (see <see cref="ContentFingerprint.Matches"/>).
    /// </summary>
    /// <exception cref="EndOfStreamException">The file was truncated below what was consumed since the last poll.</exception>
    public ContentFingerprint Consumed => _current is { } current ? ContentFingerprint.Of(current.Handle, current.LineEnd) : default;

    /// <summary>A one-time notice for the log (a replaced file recognised as a rewrite), or null; cleared by reading it.</summary>
    internal string? TakeNotice()
    {
        var notice = _notice;
        _notice = null;
        return notice;
    }

    /// <summary>Reads what is new and appends one <see cref="TailLine"/> per complete line to <paramref name="lines"/>.</summary>
    /// <returns>The number of lines appended.</returns>
    /// <exception cref="IOException">The file cannot be read; the next poll retries from the same place.</exception>
    public int Poll(List<TailLine> lines)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var before = lines.Count;
        LastPollBytesRead = 0;
        HasMore = false;
        var budget = (long)MaxBytesPerPoll;

        // 1. Where does the path point now? The current file's length is noted before anything is read.
        var readCurrentUpTo = FollowPath(lines);

        // 2. Replaced files first, oldest first: whatever senders finished writing there comes earlier.
        foreach (var retired in _retired)
        {
            if (!Drain(retired, long.MaxValue, lines, ref budget))
            {
                HasMore = true;
                return lines.Count - before;
            }
        }

        // 3. The current file, up to the length noted in step 1. A replacement is compared with the file it
        //    replaced only now, when that one has been read to its end.
        if (_current?.Predecessor is not null)
        {
            ContinueAfterPredecessor(_current, readCurrentUpTo);
        }

        if (_current is not null && !Drain(_current, readCurrentUpTo, lines, ref budget))
        {
            HasMore = true;
        }

        CloseExpired(lines);
        return lines.Count - before;
    }

    /// <summary>
    /// Removes the notifications file from its path — deletes it, or renames it to <paramref name="renameTo"/> —
    /// without losing a message: only the file this tail holds open is removed, and what senders still
    /// write into it is read through the open handle.
    /// </summary>
    /// <returns>
    /// False when nothing was removed: the path holds no file, or one this tail has not opened yet (poll
    /// first), or file identities are unavailable on this platform.
    /// </returns>
    public bool TryRemoveFile(string? renameTo = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_current is null || !UnixFileStatus.IdentityAvailable
            || !UnixFileStatus.TryStat(_path, out var status) || status.Identity != _current.Identity)
        {
            return false;
        }

        // Senders only append (O_APPEND, creating the file when missing), so the path cannot name another
        // file between the check above and this call: a sender that opens it now gets the file we hold.
        if (renameTo is null)
        {
            File.Delete(_path);
        }
        else
        {
            File.Move(_path, renameTo, overwrite: false);
        }

        // The job emptied the path on purpose: the next file holds new messages even if they repeat old ones.
        _removedByUs = true;
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _current?.Dispose();
        _current = null;
        foreach (var retired in _retired)
        {
            retired.Dispose();
        }

        _retired.Clear();
    }

    /// <summary>Sets the start from an earlier job's position; false when it does not apply (another path, an older file).</summary>
    private bool ContinueFrom(NotificationPosition startAt, FileStatus status)
    {
        if (System.IO.Path.GetFullPath(startAt.Path) != System.IO.Path.GetFullPath(_path))
        {
            ContinuedFrom = $"the earlier job followed {startAt.Path}, not this file: starting as usual";
            return false;
        }

        if (UnixFileStatus.IdentityAvailable && status.Identity == startAt.Identity)
        {
            if (status.Size >= startAt.Offset && startAt.Check.Length > 0 && CheckBefore(_current!, startAt.Offset) != startAt.Check)
            {
                // The inode number came back for another file: everything in it came after the earlier job.
                ContinuedFrom = "the file was re-created (same inode, other content) after the earlier job stopped reading: reading it from its start";
                return true;
            }

            var offset = status.Size < startAt.Offset ? 0 : startAt.Offset;
            _current!.Offset = offset;
            SkippedBytes = offset;
            ContinuedFrom = offset == startAt.Offset
                ? $"continuing at byte {offset}, where the earlier job stopped reading"
                : $"the file shrank below byte {startAt.Offset} since the earlier job stopped: reading it from its start";
            return true;
        }

        if (status.LastWriteUtc > (startAt.RecordedAt - NotificationPosition.ClockSlack).UtcDateTime)
        {
            // Re-created after the earlier job stopped reading (deleted or renamed, then a new message): all of it is newer.
            ContinuedFrom = "the file was re-created after the earlier job stopped reading: reading it from its start";
            return true;
        }

        ContinuedFrom = "the file is not the one the earlier job read and was not written since: starting as usual";
        return false;
    }

    /// <summary>Brings <see cref="_current"/> in line with the path; returns how far to read it in this poll.</summary>
    private long FollowPath(List<TailLine> lines)
    {
        if (!UnixFileStatus.TryStat(_path, out var status))
        {
            Warning = null;
            RetireCurrent();
            return 0;
        }

        if (!status.IsRegularFile)
        {
            Warning = $"{_path} is not a regular file; waiting for one";
            RetireCurrent();
            return 0;
        }

        Warning = null;
        if (_current is not null && status.Identity == _current.Identity)
        {
            if (status.Size < _current.Offset)
            {
                AddIfAny(lines, _current.Lines.Abandon("before the file was truncated"));
                _current.Offset = 0;
                _current.LineEnd = 0;
            }

            return status.Size;
        }

        RetireCurrent();
        var predecessor = _removedByUs || _retired.Count == 0 ? null : _retired[^1];
        _removedByUs = false;
        if (TakeBack(status.Identity, status.Size, lines))
        {
            return status.Size;
        }

        _current = Open(out var opened);
        if (_current is null)
        {
            return 0;
        }

        _current.Predecessor = predecessor;

        // Between the stat and the open the path may have changed again; the handle is what counts.
        if (opened.Identity != status.Identity)
        {
            TakeBack(opened.Identity, opened.Size, lines);
        }

        return opened.Size;
    }

    /// <summary>
    /// Makes a replaced file current again when the path names it once more (renamed away and back):
    /// reading carries on where it was, or its lines would come twice.
    /// </summary>
    private bool TakeBack(FileIdentity identity, long size, List<TailLine> lines)
    {
        var index = UnixFileStatus.IdentityAvailable ? _retired.FindIndex(r => r.Identity == identity) : -1;
        if (index < 0)
        {
            return false;
        }

        _current?.Dispose();
        _current = _retired[index];
        _current.RetiredAt = 0;
        _retired.RemoveAt(index);
        if (size < _current.Offset)
        {
            AddIfAny(lines, _current.Lines.Abandon("before the file was truncated"));
            _current.Offset = 0;
            _current.LineEnd = 0;
        }

        return true;
    }

    /// <summary>
    /// Starts <paramref name="source"/> after the complete lines consumed from the file it replaced, when it
    /// begins with exactly those bytes: the same messages rewritten, not new ones.
    /// </summary>
    private void ContinueAfterPredecessor(TailSource source, long size)
    {
        var predecessor = source.Predecessor!;
        if (source.Offset != 0 || predecessor.LineEnd == 0 || predecessor.Handle.IsClosed || size < predecessor.LineEnd)
        {
            source.Predecessor = null;
            return;
        }

        // A read error propagates with the predecessor still set: the next poll compares again, never reads from 0 in between.
        var consumed = ContentFingerprint.Of(predecessor.Handle, predecessor.LineEnd);
        BytesRead += 2 * Math.Min(consumed.Length, ContentFingerprint.HeadBytes + ContentFingerprint.TailBytes);
        var matches = consumed.Matches(source.Handle, size);
        source.Predecessor = null;
        if (!matches)
        {
            return;
        }

        source.Offset = consumed.Length;
        source.LineEnd = consumed.Length;
        ContinuedBytes += consumed.Length;

        // An unfinished line of the old file is the start of a line the new file carries whole.
        predecessor.Lines.Abandon(string.Empty);
        _notice = $"notifications: {_path} was replaced by a file that begins with the {consumed.Length} bytes already read; reading on after them (no message applied twice)";
    }

    private TailSource? Open(out FileStatus status)
    {
        SafeFileHandle? handle = null;
        try
        {
            handle = File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            status = UnixFileStatus.Stat(handle);
            var source = new TailSource(handle, status.Identity, _maxLineBytes, WantPreview);
            handle = null; // the source owns it now
            return source;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            status = default;
            return null;
        }
        finally
        {
            // Set only when something failed before the source took the handle.
            handle?.Dispose();
        }
    }

    private void RetireCurrent()
    {
        if (_current is null)
        {
            return;
        }

        _current.RetiredAt = Stopwatch.GetTimestamp();
        _retired.Add(_current);
        _current = null;
    }

    /// <summary>Reads <paramref name="source"/> up to <paramref name="limit"/> or its end; false when the budget ran out first.</summary>
    private bool Drain(TailSource source, long limit, List<TailLine> lines, ref long budget)
    {
        while (source.Offset < limit)
        {
            if (budget <= 0)
            {
                return false;
            }

            var want = (int)Math.Min(Math.Min(_buffer.Length, limit - source.Offset), budget);
            var read = RandomAccess.Read(source.Handle, _buffer.AsSpan(0, want), source.Offset);
            if (read == 0)
            {
                return true;
            }

            var newline = _buffer.AsSpan(0, read).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                source.LineEnd = source.Offset + newline + 1;
            }

            source.Offset += read;
            budget -= read;
            BytesRead += read;
            LastPollBytesRead += read;
            source.Lines.Feed(_buffer.AsSpan(0, read), lines);
        }

        return true;
    }

    /// <summary>Closes replaced files whose grace period is over (they were read to their end in this poll).</summary>
    private void CloseExpired(List<TailLine> lines)
    {
        var now = Stopwatch.GetTimestamp();
        var grace = (long)(RetiredGrace.TotalSeconds * Stopwatch.Frequency);
        while (_retired.Count > 0 && (_retired.Count > MaxRetired || now - _retired[0].RetiredAt > grace))
        {
            var oldest = _retired[0];
            _retired.RemoveAt(0);
            AddIfAny(lines, oldest.Lines.Abandon("at the end of a file that was deleted or replaced"));
            oldest.Dispose();
        }
    }

    /// <summary>The check of the bytes before <paramref name="offset"/> in <paramref name="source"/>; null when they cannot be read.</summary>
    private string? CheckBefore(TailSource source, long offset)
    {
        var length = (int)Math.Min(offset, NotificationPosition.CheckBytes);
        var bytes = _buffer.AsSpan(0, length);
        var read = 0;
        while (read < length)
        {
            var n = RandomAccess.Read(source.Handle, bytes[read..], offset - length + read);
            if (n == 0)
            {
                return null;
            }

            read += n;
        }

        BytesRead += read;
        return NotificationPosition.CheckOf(bytes);
    }

    private bool EndsInUnfinishedLine(long size)
    {
        var length = (int)Math.Min(size, 1);
        var read = RandomAccess.Read(_current!.Handle, _buffer.AsSpan(0, length), size - length);
        BytesRead += read;
        return read == 1 && _buffer[0] != (byte)'\n';
    }

    private long CountNewlines(long size)
    {
        long count = 0;
        long offset = 0;
        while (offset < size)
        {
            var read = RandomAccess.Read(_current!.Handle, _buffer.AsSpan(0, (int)Math.Min(_buffer.Length, size - offset)), offset);
            if (read == 0)
            {
                break;
            }

            count += _buffer.AsSpan(0, read).Count((byte)'\n');
            offset += read;
            BytesRead += read;
        }

        return count;
    }

    private bool WantPreview() => PreviewFilter?.Invoke() ?? true;

    private static void AddIfAny(List<TailLine> lines, TailLine? line)
    {
        if (line is { } value)
        {
            lines.Add(value);
        }
    }
}
