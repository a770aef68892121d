using System.Text;
using System.Text.Unicode;

namespace Convergence.Intake;

/// <summary>
/// Cuts the byte stream of one file into lines: buffers an unfinished line up to the limit, rejects longer
/// lines without buffering them, and checks each complete line (UTF-8, no NUL).
/// </summary>
/// <remarks>
/// One per open file, because a sender that still holds a replaced file open finishes its line there.
/// Memory: at most <c>maxLineBytes</c> bytes, allocated only when a line actually spans two reads.
/// </remarks>
internal sealed class LineAssembler
{
    /// <summary>Characters of a rejected line shown in the journal and the log.</summary>
    internal const int PreviewChars = 60;

    private const int PreviewBytes = PreviewChars * 4;

    private const string HexDigits = "0123456789ABCDEF";

    private enum Mode
    {
        Normal,
        Overlong,
        RestOfEarlierMessage,
    }

    private readonly int _maxLineBytes;
    private readonly Func<bool>? _wantPreview;
    private readonly string _overlong;
    private byte[] _buffer = [];
    private int _length;
    private long _dropped;
    private Mode _mode;

    /// <param name="maxLineBytes">Longer lines are rejected without being held.</param>
    /// <param name="wantPreview">
    /// Asked before a rejected line's preview is built; false saves that work when the journal will only count
    /// the rejection (a flood of binary data). Null: always build it.
    /// </param>
    public LineAssembler(int maxLineBytes, Func<bool>? wantPreview = null)
    {
        _maxLineBytes = maxLineBytes;
        _wantPreview = wantPreview;
        _overlong = $"line longer than the limit of {maxLineBytes} bytes; skipped up to its end";
    }

    /// <summary>Bytes held for the unfinished line (never more than the line limit).</summary>
    public int Buffered => _length;

    /// <summary>True while a line has started but its <c>\n</c> has not arrived.</summary>
    public bool InLine => _length > 0 || _dropped > 0 || _mode != Mode.Normal;

    /// <summary>
    /// Treats the bytes up to the next <c>\n</c> as the end of a message that was being written before the
    /// job started: they are reported as skipped, not parsed.
    /// </summary>
    public void SkipRestOfEarlierMessage() => _mode = Mode.RestOfEarlierMessage;

    /// <summary>Consumes <paramref name="data"/>; appends one entry per <c>\n</c> (and one per overlong line, when it is detected).</summary>
    public void Feed(ReadOnlySpan<byte> data, List<TailLine> lines)
    {
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            var chunk = newline < 0 ? data : data[..newline];
            switch (_mode)
            {
                case Mode.Normal when _length + chunk.Length > _maxLineBytes:
                    // Report at once: a line that never ends must still show up, and the rest of it is never held.
                    Keep(chunk[..Math.Min(chunk.Length, Math.Max(0, PreviewBytes - _length))]);
                    lines.Add(new TailLine(null, _overlong, PreviewIfWanted(_buffer.AsSpan(0, _length))));
                    _dropped = _length + (long)chunk.Length;
                    _length = 0;
                    _mode = Mode.Overlong;
                    break;
                case Mode.Normal:
                    Keep(chunk);
                    break;
                case Mode.Overlong:
                    _dropped += chunk.Length;
                    break;
                case Mode.RestOfEarlierMessage:
                    Keep(chunk[..Math.Min(chunk.Length, Math.Max(0, PreviewBytes - _length))]);
                    _dropped += chunk.Length;
                    break;
            }

            if (newline < 0)
            {
                return;
            }

            switch (_mode)
            {
                case Mode.Normal:
                    lines.Add(Decode(_buffer.AsSpan(0, _length), _wantPreview));
                    break;
                case Mode.RestOfEarlierMessage:
                    lines.Add(new TailLine(
                        null,
                        "end of a message that was being written when the job started; skipped with the earlier content",
                        PreviewIfWanted(_buffer.AsSpan(0, _length))));
                    break;
            }

            Reset();
            data = data[(newline + 1)..];
        }
    }

    /// <summary>
    /// Gives up on the unfinished line (its file was truncated or closed for good): returns a rejection
    /// when there was one that had not been reported yet.
    /// </summary>
    public TailLine? Abandon(string why)
    {
        TailLine? result = _mode == Mode.Normal && _length > 0
            ? new TailLine(null, $"unfinished line ({_length} bytes without \\n) {why}; skipped", Preview(_buffer.AsSpan(0, _length)))
            : null;
        Reset();
        return result;
    }

    /// <summary>
    /// Makes a rejected line showable, shortened to <see cref="PreviewChars"/> characters: text that is valid
    /// UTF-8 without control or format characters is shown as text; anything else (binary data, terminal
    /// escapes, bidi overrides) as printable ASCII with every other byte escaped as <c>\xHH</c>, so no raw
    /// byte reaches the log, a terminal or the page.
    /// </summary>
    internal static string Preview(ReadOnlySpan<byte> bytes)
    {
        var cut = bytes.Length > PreviewBytes;
        if (!Utf8.IsValid(cut ? bytes[..PreviewBytes] : bytes) || bytes.Contains((byte)0))
        {
            return Escaped(bytes);
        }

        var text = Encoding.UTF8.GetString(cut ? bytes[..PreviewBytes] : bytes);
        foreach (var c in text)
        {
            if (char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format)
            {
                return Escaped(bytes);
            }
        }

        var builder = new StringBuilder(Math.Min(text.Length, PreviewChars) + 1);
        foreach (var c in text)
        {
            if (builder.Length == PreviewChars)
            {
                cut = true;
                break;
            }

            builder.Append(c);
        }

        if (cut)
        {
            builder.Append('…');
        }

        return builder.ToString();
    }

    /// <summary>Printable ASCII as it is, every other byte (and the backslash) escaped; shortened with "…".</summary>
    internal static string Escaped(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(PreviewChars + 4);
        foreach (var b in bytes)
        {
            var width = b is >= 0x20 and < 0x7F and not (byte)'\\' ? 1 : b == (byte)'\\' ? 2 : 4;
            if (builder.Length + width > PreviewChars)
            {
                builder.Append('…');
                break;
            }

            if (width == 1)
            {
                builder.Append((char)b);
            }
            else if (width == 2)
            {
                builder.Append("\\\\");
            }
            else
            {
                builder.Append("\\x").Append(HexDigits[b >> 4]).Append(HexDigits[b & 0xF]);
            }
        }

        return builder.ToString();
    }

    private string? PreviewIfWanted(ReadOnlySpan<byte> bytes) => _wantPreview is null || _wantPreview() ? Preview(bytes) : null;

    private static TailLine Decode(ReadOnlySpan<byte> bytes, Func<bool>? wantPreview)
    {
        if (!bytes.IsEmpty && bytes[^1] == (byte)'\r')
        {
            bytes = bytes[..^1];
        }

        if (bytes.Contains((byte)0))
        {
            return new TailLine(null, "NUL byte in message (binary data?); skipped", wantPreview is null || wantPreview() ? Escaped(bytes) : null);
        }

        // Validate first rather than catch a decoder exception: binary noise must not cost an exception per line.
        return Utf8.IsValid(bytes)
            ? new TailLine(Encoding.UTF8.GetString(bytes), null)
            : new TailLine(null, "message is not valid UTF-8; skipped", wantPreview is null || wantPreview() ? Escaped(bytes) : null);
    }

    private void Keep(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty)
        {
            return;
        }

        var needed = _length + chunk.Length;
        if (needed > _buffer.Length)
        {
            // Grow geometrically but never past the limit: a typical short message needs a few hundred bytes.
            var size = Math.Min(Math.Max(Math.Max(needed, 256), _buffer.Length * 2), Math.Max(_maxLineBytes, PreviewBytes));
            Array.Resize(ref _buffer, size);
        }

        chunk.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    private void Reset()
    {
        _length = 0;
        _dropped = 0;
        _mode = Mode.Normal;
    }
}
