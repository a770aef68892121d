using System.Diagnostics;
using System.Security.Cryptography;
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
/// Faults: every file is opened without following a symbolic link and without blocking (<c>O_NOFOLLOW |
/// O_NONBLOCK</c>), then checked through its descriptor: a link, FIFO, folder or device at the path is refused
/// with a one-line reason (<see cref="Warning"/>) and never read. Each step of a poll (looking at the path,
/// each replaced file, the comparison with the replaced file, the current file) fails on its own: the error
/// becomes the poll's <see cref="Warning"/>, the step is tried again at the next poll, and replaced files are
/// closed when their grace period ends whatever happened. A replaced file that cannot be read holds the current
/// one back (order) until it is read or closed; a descriptor that went stale (ESTALE) is given up at once.
/// Interrupted reads (EINTR) are repeated.
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
    private readonly ITailReader _reader;
    private readonly byte[] _buffer = new byte[ReadChunk];
    private readonly List<TailSource> _retired = [];
    private TailSource? _current;
    private bool _removedByUs;
    private string? _notice;
    private string? _pollProblem;
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
    /// new message. Either way, a later rewrite that begins with everything skipped continues after it.
    /// Never blocks and never throws for what is at the path: a link, FIFO or folder is refused (reported by the first poll).
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
    /// from that offset (from 0 if it shrank); another file at the path that begins with what the earlier job
    /// read (a rewrite) is read on after it; another one modified after the position was taken is a re-created
    /// one, read from its start. Otherwise, or when null, the tail starts as the other constructor does.
    /// </param>
    public NotificationTail(string path, int maxLineBytes, bool replayExisting, NotificationPosition? startAt)
        : this(path, maxLineBytes, replayExisting, startAt, ReadErrors.Direct)
    {
    }

    /// <summary>As the public constructor, reading through <paramref name="reader"/> (tests inject read faults there).</summary>
    internal NotificationTail(string path, int maxLineBytes, bool replayExisting, NotificationPosition? startAt, ITailReader reader)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 16);
        _path = path;
        _maxLineBytes = maxLineBytes;
        _reader = reader;
        _current = Open(out var status);
        if (_current is null || replayExisting)
        {
            return;
        }

        try
        {
            if (startAt is null || !ContinueFrom(startAt, status))
            {
                SkipExisting(status);
            }
        }
        catch (Exception ex) when (ReadErrors.IsFileError(ex))
        {
            // What is there cannot be read: it is skipped whole (never applied), and no rewrite of it is recognised.
            _current.Offset = status.Size;
            _current.LineEnd = status.Size;
            _current.RestartHash(null, status.Size);
            SkippedBytes = status.Size;
            SkippedLines = -1;
            ContinuedFrom = startAt is null ? null : $"cannot read the file to find where the earlier job stopped ({ex.Message}): starting at its end";
            Warning = $"cannot read {_path} at start: {ex.Message}; its {status.Size} bytes are skipped";
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
    /// delivered, a check of the bytes before it and the fingerprint of all of them. Null when no file is open.
    /// Reads up to <see cref="ContentFingerprint.HeadBytes"/> bytes: call it from the thread that polls, or after the last poll.
    /// </summary>
    public NotificationPosition? TakePosition()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_current is null)
        {
            return null;
        }

        // An unfinished line is read again from its start by whoever continues from here.
        var offset = _current.LineEnd;
        string check;
        string prefix;
        try
        {
            check = CheckBefore(_current, offset) ?? string.Empty;
            prefix = check.Length == 0 ? string.Empty : (_current.KnownConsumed ?? ContentFingerprint.Of(_reader, _current.Handle, offset, null)).Sha256;
        }
        catch (Exception ex) when (ReadErrors.IsFileError(ex))
        {
            // Unchecked: the same file is still recognised by its identity.
            check = string.Empty;
            prefix = string.Empty;
        }

        return new NotificationPosition(System.IO.Path.GetFullPath(_path), _current.Identity.Device, _current.Identity.Inode, offset, DateTimeOffset.UtcNow, check, prefix);
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

    /// <summary>
    /// What went wrong in the last poll (the path is not a regular file, a file cannot be read), one line, for the
    /// watcher's log; null when all was well. The failed step is tried again at the next poll.
    /// </summary>
    internal string? Warning { get; private set; }

    /// <summary>
    /// Asked before a rejected line's preview is built (false: the journal will only count it, so the work is
    /// skipped). Null: always build previews. Set by the watcher before its first poll.
    /// </summary>
    internal Func<bool>? PreviewFilter { get; set; }

    /// <summary>Bytes not read again because a replacing file began with them (see the class remarks).</summary>
    internal long ContinuedBytes { get; private set; }

    /// <summary>
    /// The fingerprint of the complete lines consumed from the current file (reads up to about 16 MB of it when it
    /// is not known already); default when there is none. For recording where a later run may continue (see
    /// <see cref="ContentFingerprint.Matches(SafeFileHandle, long)"/>).
    /// </summary>
    /// <exception cref="EndOfStreamException">The file was truncated below what was consumed since the last poll.</exception>
    public ContentFingerprint Consumed => _current is { } current
        ? current.KnownConsumed ?? ContentFingerprint.Of(_reader, current.Handle, current.LineEnd, null)
        : default;

    /// <summary>A one-time notice for the log (a replaced file recognised as a rewrite), or null; cleared by reading it.</summary>
    internal string? TakeNotice()
    {
        var notice = _notice;
        _notice = null;
        return notice;
    }

    /// <summary>Reads what is new and appends one <see cref="TailLine"/> per complete line to <paramref name="lines"/>.</summary>
    /// <returns>The number of lines appended.</returns>
    /// <remarks>
    /// File-system errors do not escape: each is noted in <see cref="Warning"/> and the step that failed is tried
    /// again at the next poll (see the class remarks).
    /// </remarks>
    public int Poll(List<TailLine> lines)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var before = lines.Count;
        LastPollBytesRead = 0;
        HasMore = false;
        _pollProblem = null;
        var budget = (long)MaxBytesPerPoll;
        var expire = true;
        try
        {
            // 1. Where does the path point now? The current file's length is noted before anything is read.
            var readCurrentUpTo = FollowPath(lines);

            // 2. Replaced files first, oldest first: whatever senders finished writing there comes earlier.
            var heldBack = false;
            foreach (var retired in _retired)
            {
                switch (DrainRetired(retired, lines, ref budget))
                {
                    case Step.OutOfBudget:
                        HasMore = true;
                        expire = false;
                        return lines.Count - before;
                    case Step.Failed:
                        // Its lines come before the current file's: those wait until it is read, or closed at the end of its grace.
                        heldBack = true;
                        break;
                }

                if (heldBack)
                {
                    break;
                }
            }

            // 3. The current file, up to the length noted in step 1. A replacement is compared with the file it
            //    replaced only now, when that one has been read to its end.
            if (!heldBack && readCurrentUpTo >= 0 && _current is { } current)
            {
                ReadCurrent(current, readCurrentUpTo, lines, ref budget);
            }
        }
        finally
        {
            // Whatever failed above, replaced files leave when their grace period is over: none is held for ever.
            if (expire)
            {
                CloseExpired(lines);
            }

            Warning = _pollProblem;
        }

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

    private enum Step
    {
        Done,
        OutOfBudget,
        Failed,
    }

    /// <summary>Skips what the file holds at start (an earlier run's messages); see the constructor's remarks.</summary>
    private void SkipExisting(FileStatus status)
    {
        var current = _current!;
        var size = status.Size;
        current.Offset = size;

        // Everything skipped counts as consumed, an unfinished last line included: a rewrite that begins with it
        // all is read on after it, so nothing skipped at start is ever applied.
        current.LineEnd = size;
        SkippedBytes = size;
        if (size == 0)
        {
            return;
        }

        var unfinished = EndsInUnfinishedLine(size);
        if (unfinished && DateTime.UtcNow - status.LastWriteUtc < UnfinishedLineStaleAfter)
        {
            current.Lines.SkipRestOfEarlierMessage();
            current.SkipAtLineEnd = true;
        }

        if (size > CountSkippedLinesUpTo)
        {
            SkippedLines = -1;
            current.RestartHash(null, size);
            return;
        }

        IncrementalHash? hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            SkippedLines = CountNewlines(size, hash) + (unfinished ? 1 : 0);
            current.RestartHash(hash, size);
        }
        catch
        {
            hash.Dispose();
            throw;
        }
    }

    /// <summary>Sets the start from an earlier job's position; false when it does not apply (another path, an older file).</summary>
    private bool ContinueFrom(NotificationPosition startAt, FileStatus status)
    {
        var current = _current!;
        if (System.IO.Path.GetFullPath(startAt.Path) != System.IO.Path.GetFullPath(_path))
        {
            ContinuedFrom = $"the earlier job followed {startAt.Path}, not this file: starting as usual";
            return false;
        }

        if (UnixFileStatus.IdentityAvailable && status.Identity == startAt.Identity)
        {
            if (status.Size >= startAt.Offset && startAt.Check.Length > 0 && CheckBefore(current, startAt.Offset) != startAt.Check)
            {
                // The inode number came back for another file: everything in it came after the earlier job.
                ContinuedFrom = "the file was re-created (same inode, other content) after the earlier job stopped reading: reading it from its start";
                return true;
            }

            var offset = status.Size < startAt.Offset ? 0 : startAt.Offset;
            current.Offset = offset;

            // The offset is a line end: a rewrite during this link that begins with everything up to it is recognised.
            current.LineEnd = offset;
            current.RestartHash(null, offset);
            SkippedBytes = offset;
            ContinuedFrom = offset == startAt.Offset
                ? $"continuing at byte {offset}, where the earlier job stopped reading"
                : $"the file shrank below byte {startAt.Offset} since the earlier job stopped: reading it from its start";
            if (offset == 0)
            {
                current.HashFromStart();
            }

            return true;
        }

        if (startAt.Offset > 0 && startAt.Prefix.Length > 0 && status.Size >= startAt.Offset)
        {
            // Another file: a rewrite of the one the earlier job read (sed -i, an editor's save) begins with what it read.
            var read = new ContentFingerprint(startAt.Offset, startAt.Prefix);
            IncrementalHash? hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            try
            {
                if (read.Matches(_reader, current.Handle, status.Size, hash))
                {
                    current.Offset = startAt.Offset;
                    current.LineEnd = startAt.Offset;
                    current.RestartHash(hash, startAt.Offset);
                    hash = null;
                }
            }
            finally
            {
                hash?.Dispose();
            }

            if (current.Offset == startAt.Offset)
            {
                SkippedBytes = startAt.Offset;
                ContinuedFrom = FormattableString.Invariant(
                    $"the file was rewritten since the earlier job stopped reading and begins with the {startAt.Offset} bytes it read: continuing after them (no message applied twice)");
                return true;
            }
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

    /// <summary>
    /// Brings <see cref="_current"/> in line with the path; returns how far to read it in this poll, or -1 when it
    /// is not to be read now (no file, refused, or the path cannot be examined).
    /// </summary>
    private long FollowPath(List<TailLine> lines)
    {
        FileStatus status;
        try
        {
            if (!UnixFileStatus.TryStat(_path, out status))
            {
                RetireCurrent();
                return -1;
            }
        }
        catch (Exception ex) when (ReadErrors.IsFileError(ex))
        {
            // The folder cannot be searched (permissions, I/O error): what is held open is kept, nothing is read from it now.
            Report($"cannot examine {_path}: {ex.Message}");
            return -1;
        }

        if (!status.IsRegularFile)
        {
            Report($"{_path} is {status.Kind}, not a regular file; refused, waiting for a regular file");
            RetireCurrent();
            return -1;
        }

        if (_current is not null && status.Identity == _current.Identity && (!_current.Stale || Reopen(_current)))
        {
            if (status.Size < _current.Offset)
            {
                Truncated(_current, lines);
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
            return -1;
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

        var source = _retired[index];
        if (source.Stale && !Reopen(source))
        {
            return false;
        }

        _current?.Dispose();
        _current = source;
        _current.RetiredAt = 0;
        _retired.RemoveAt(index);
        if (size < _current.Offset)
        {
            Truncated(_current, lines);
        }

        return true;
    }

    /// <summary>Gives a stale source a new descriptor when the path still names its file; false when it does not.</summary>
    private bool Reopen(TailSource source)
    {
        var handle = UnixFileStatus.OpenRegularFile(_path, out var reopened, out _);
        if (handle is null || reopened.Identity != source.Identity)
        {
            handle?.Dispose();
            return false;
        }

        source.ReplaceHandle(handle);
        return true;
    }

    /// <summary>Reads the current file (after comparing it with the file it replaced, once); errors are reported, not thrown.</summary>
    private void ReadCurrent(TailSource current, long upTo, List<TailLine> lines, ref long budget)
    {
        try
        {
            if (current.Predecessor is not null && !ContinueAfterPredecessor(current, upTo))
            {
                return;
            }

            if (!Drain(current, upTo, lines, ref budget))
            {
                HasMore = true;
            }
        }
        catch (Exception ex) when (ReadErrors.IsFileError(ex))
        {
            Report(Describe(current, "the notifications file", ex));
            if (ReadErrors.IsStale(ex))
            {
                // The descriptor is dead: next time the path is opened again, and read on from here if it is the same file.
                current.Stale = true;
            }
        }
    }

    /// <summary>Reads a replaced file to its end; a stale one is skipped (it can never be read again).</summary>
    private Step DrainRetired(TailSource retired, List<TailLine> lines, ref long budget)
    {
        if (retired.Stale)
        {
            return Step.Done;
        }

        try
        {
            // Replaced before it was first read (held back behind an unreadable file): compared with its own predecessor first.
            if (retired.Predecessor is not null && !ContinueAfterPredecessor(retired, UnixFileStatus.Stat(retired.Handle).Size))
            {
                return Step.Failed;
            }

            return Drain(retired, long.MaxValue, lines, ref budget) ? Step.Done : Step.OutOfBudget;
        }
        catch (Exception ex) when (ReadErrors.IsFileError(ex))
        {
            Report(Describe(retired, "a replaced notifications file", ex));
            if (ReadErrors.IsStale(ex))
            {
                // Deleted or replaced on the server: nothing more will come from it, nothing to wait for.
                retired.Stale = true;
                return Step.Done;
            }

            return Step.Failed;
        }
    }

    /// <summary>
    /// Starts <paramref name="source"/> after the complete lines consumed from the file it replaced, when it
    /// begins with exactly those bytes: the same messages rewritten, not new ones. False when the comparison must
    /// wait (the replaced file cannot be read now); read errors propagate with the predecessor still set, so the
    /// next poll compares again and never reads from 0 in between.
    /// </summary>
    private bool ContinueAfterPredecessor(TailSource source, long size)
    {
        var predecessor = source.Predecessor!;

        // A predecessor that was replaced before anything was read from it (it could not be read) consumed
        // nothing of its own: what was consumed is what its own predecessor had consumed.
        while (predecessor is { LineEnd: 0, Offset: 0, Predecessor: { } earlier })
        {
            predecessor = earlier;
        }

        if (source.Offset != 0 || predecessor.LineEnd == 0)
        {
            source.Predecessor = null;
            return true;
        }

        ContentFingerprint consumed;
        if (predecessor.KnownConsumed is { } known)
        {
            consumed = known;
        }
        else if (predecessor.Stale || predecessor.Handle.IsClosed)
        {
            source.Predecessor = null;
            _notice = $"notifications: {_path} was replaced, and the file it replaced can no longer be read to compare them: reading the new one from its start";
            return true;
        }
        else
        {
            try
            {
                consumed = ContentFingerprint.Of(_reader, predecessor.Handle, predecessor.LineEnd, null);
                BytesRead += Math.Min(consumed.Length, ContentFingerprint.HeadBytes + ContentFingerprint.TailBytes);
            }
            catch (EndOfStreamException)
            {
                // The replaced file was truncated: what was read from it is gone, the new file holds new messages.
                source.Predecessor = null;
                return true;
            }
        }

        if (size < consumed.Length)
        {
            source.Predecessor = null;
            return true;
        }

        IncrementalHash? hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            var matches = consumed.Matches(_reader, source.Handle, size, hash);
            BytesRead += Math.Min(consumed.Length, ContentFingerprint.HeadBytes + ContentFingerprint.TailBytes);
            source.Predecessor = null;
            if (!matches)
            {
                return true;
            }

            source.Offset = consumed.Length;
            source.LineEnd = consumed.Length;
            source.RestartHash(hash, consumed.Length);
            hash = null;
        }
        finally
        {
            hash?.Dispose();
        }

        ContinuedBytes += consumed.Length;
        if (predecessor.SkipAtLineEnd)
        {
            // The old file ended in the start of a message skipped at start: its rest is skipped here too.
            source.Lines.SkipRestOfEarlierMessage();
            source.SkipAtLineEnd = true;
        }

        // An unfinished line of the old file is the start of a line the new file carries whole.
        predecessor.Lines.Abandon(string.Empty);
        _notice = $"notifications: {_path} was replaced by a file that begins with the {consumed.Length} bytes already read; reading on after them (no message applied twice)";
        return true;
    }

    /// <summary>Opens the path (no links followed, never blocking); null when there is nothing to open or it was refused (reported).</summary>
    private TailSource? Open(out FileStatus status)
    {
        SafeFileHandle? handle = null;
        try
        {
            handle = UnixFileStatus.OpenRegularFile(_path, out status, out var refusal);
            if (handle is null)
            {
                if (refusal is not null)
                {
                    Report(refusal);
                }

                return null;
            }

            var source = new TailSource(handle, status.Identity, _maxLineBytes, WantPreview);
            handle = null; // the source owns it now
            source.HashFromStart();
            return source;
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

    private static void Truncated(TailSource source, List<TailLine> lines)
    {
        AddIfAny(lines, source.Lines.Abandon("before the file was truncated"));
        source.Offset = 0;
        source.LineEnd = 0;
        source.SkipAtLineEnd = false;
        source.HashFromStart();
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
            var read = _reader.ReadRetryingInterrupts(source.Handle, _buffer.AsSpan(0, want), source.Offset);
            if (read == 0)
            {
                return true;
            }

            var chunk = _buffer.AsSpan(0, read);
            var newline = chunk.LastIndexOf((byte)'\n');
            source.Hash(chunk, source.Offset, newline);
            if (newline >= 0)
            {
                source.LineEnd = source.Offset + newline + 1;
                source.SkipAtLineEnd = false;
            }

            source.Offset += read;
            budget -= read;
            BytesRead += read;
            LastPollBytesRead += read;
            source.Lines.Feed(chunk, lines);
        }

        return true;
    }

    /// <summary>Closes replaced files whose grace period is over (read to their end in this poll, or unreadable).</summary>
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

    /// <summary>Notes a problem of this poll; the first one is the poll's <see cref="Warning"/>.</summary>
    private void Report(string problem) => _pollProblem ??= Commands.CommandParser.OneLine(problem);

    private static string Describe(TailSource source, string what, Exception ex) =>
        FormattableString.Invariant($"cannot read {what} (inode {source.Identity.Inode}): {ex.GetType().Name}: {ex.Message}{(ReadErrors.IsStale(ex) ? " (stale: given up)" : " (will retry)")}");

    /// <summary>The check of the bytes before <paramref name="offset"/> in <paramref name="source"/>; null when they cannot be read.</summary>
    private string? CheckBefore(TailSource source, long offset)
    {
        var length = (int)Math.Min(offset, NotificationPosition.CheckBytes);
        var bytes = _buffer.AsSpan(0, length);
        var read = 0;
        while (read < length)
        {
            var n = _reader.ReadRetryingInterrupts(source.Handle, bytes[read..], offset - length + read);
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
        var read = _reader.ReadRetryingInterrupts(_current!.Handle, _buffer.AsSpan(0, length), size - length);
        BytesRead += read;
        return read == 1 && _buffer[0] != (byte)'\n';
    }

    /// <summary>Counts the <c>\n</c> in the first <paramref name="size"/> bytes, hashing them into <paramref name="hash"/>.</summary>
    private long CountNewlines(long size, IncrementalHash hash)
    {
        long count = 0;
        long offset = 0;
        while (offset < size)
        {
            var read = _reader.ReadRetryingInterrupts(_current!.Handle, _buffer.AsSpan(0, (int)Math.Min(_buffer.Length, size - offset)), offset);
            if (read == 0)
            {
                throw new EndOfStreamException($"{_path} became shorter while it was read at start");
            }

            count += _buffer.AsSpan(0, read).Count((byte)'\n');
            hash.AppendData(_buffer, 0, read);
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
