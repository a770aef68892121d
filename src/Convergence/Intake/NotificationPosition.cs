using System.Globalization;
using System.Text;

namespace Convergence.Intake;

/// <summary>
/// Where a job stopped reading the notifications file: which file (path, device, inode) and how far. A
/// chained job's next link starts there, so that messages sent while it waited in the queue are applied,
/// not skipped as an earlier run's.
/// </summary>
/// <param name="Path">The notifications file's path.</param>
/// <param name="Device">The file's device number (0 when the platform cannot tell).</param>
/// <param name="Inode">The file's inode number (0 when the platform cannot tell).</param>
/// <param name="Offset">Bytes consumed: the start of the first line not yet read to its end.</param>
/// <param name="RecordedAt">When the position was taken; a file re-created after it holds only newer messages.</param>
/// <param name="Check">
/// SHA-256 (hex) of the up to <see cref="CheckBytes"/> bytes before <paramref name="Offset"/>: a file re-created
/// with the old inode number (file systems reuse them at once) is told apart by its content. Empty: not checked.
/// </param>
/// <param name="Prefix">
/// The <see cref="ContentFingerprint.Sha256"/> of the file's first <paramref name="Offset"/> bytes: a file at the
/// path with another inode that begins with them (rewritten by <c>sed -i</c>, an editor) is read on after them,
/// not from its start. Empty: not known (then such a file is read from its start when it is newer).
/// </param>
public sealed record NotificationPosition(string Path, ulong Device, ulong Inode, long Offset, DateTimeOffset RecordedAt, string Check = "", string Prefix = "")
{
    /// <summary>How many bytes before the offset <see cref="Check"/> covers.</summary>
    public const int CheckBytes = 256;

    /// <summary>The file's name beside the checkpoints (a small file of its own: the checkpoint manifest is the checkpoint layer's).</summary>
    public const string FileName = "notifications-position.txt";

    /// <summary>
    /// File-system clocks are coarse (a kernel tick): a file written just after the position was taken may
    /// carry a modification time slightly before it. A file the earlier job had opened is recognised by its
    /// identity, so only a re-created one is judged by this time.
    /// </summary>
    internal static readonly TimeSpan ClockSlack = TimeSpan.FromSeconds(1);

    internal FileIdentity Identity => new(Device, Inode);

    /// <summary>The <see cref="Check"/> of <paramref name="bytesBeforeOffset"/>.</summary>
    internal static string CheckOf(ReadOnlySpan<byte> bytesBeforeOffset) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytesBeforeOffset));

    /// <summary>The position of a job that had no file to read (the path did not exist when it stopped).</summary>
    public static NotificationPosition NoFile(string path, DateTimeOffset at) => new(System.IO.Path.GetFullPath(path), 0, 0, 0, at);

    /// <summary>The position as <c>key=value</c> lines.</summary>
    public string Format()
    {
        var sb = new StringBuilder();
        sb.Append("format=convergence-notifications-position 1\n");
        sb.Append("path=").Append(Path).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"device={Device}\ninode={Inode}\noffset={Offset}\n");
        sb.Append("recorded_at=").Append(RecordedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("check=").Append(Check).Append('\n');
        sb.Append("prefix=").Append(Prefix).Append('\n');
        return sb.ToString();
    }

    /// <summary>Reads a position written by <see cref="Format"/>; null (with <paramref name="problem"/>) when it is not one.</summary>
    public static NotificationPosition? Parse(string text, out string? problem)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                fields[line[..eq]] = line[(eq + 1)..].TrimEnd('\r');
            }
        }

        problem = null;
        if (!fields.TryGetValue("format", out var format) || format != "convergence-notifications-position 1")
        {
            problem = "not a notifications position file (format line missing)";
        }
        else if (!fields.TryGetValue("path", out var path) || path.Length == 0
            || !ulong.TryParse(fields.GetValueOrDefault("device"), NumberStyles.None, CultureInfo.InvariantCulture, out var device)
            || !ulong.TryParse(fields.GetValueOrDefault("inode"), NumberStyles.None, CultureInfo.InvariantCulture, out var inode)
            || !long.TryParse(fields.GetValueOrDefault("offset"), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            || !DateTimeOffset.TryParse(fields.GetValueOrDefault("recorded_at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            problem = "a field is missing or malformed (path, device, inode, offset, recorded_at)";
        }
        else
        {
            return new NotificationPosition(path, device, inode, offset, at, fields.GetValueOrDefault("check") ?? string.Empty, fields.GetValueOrDefault("prefix") ?? string.Empty);
        }

        return null;
    }
}
