using System.Globalization;
using System.Security.Cryptography;
using Convergence.FileSystem;

namespace Convergence.Checkpoints;

/// <summary>The file operations of two-level checkpoints (see <see cref="CheckpointManager"/>'s remarks): probes, copies, newest ids.</summary>
public sealed partial class CheckpointStore
{
    private const string ProbePrefix = ".probe-";

    /// <summary>
    /// Leaves an empty marker for <paramref name="rank"/> in the folder (created if missing), named by the job's
    /// <paramref name="token"/>, so the ranks can tell which of them see the same folder.
    /// </summary>
    /// <exception cref="IOException">The folder cannot be created or written.</exception>
    public void LeaveProbe(string token, int rank)
    {
        using var root = OpenRoot(create: true)!;
        root.WriteAtomically(ProbeName(token, rank), []);
    }

    /// <summary>The ranks whose marker for <paramref name="token"/> this process sees in the folder.</summary>
    public IReadOnlyList<int> SeenProbes(string token)
    {
        using var root = OpenRoot(create: false);
        if (root is null)
        {
            return [];
        }

        var prefix = ProbePrefix + token + "-";
        var ranks = new List<int>();
        foreach (var (name, kind) in root.Entries())
        {
            if (kind == EntryKind.File && name.StartsWith(prefix, StringComparison.Ordinal)
                && int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var rank))
            {
                ranks.Add(rank);
            }
        }

        ranks.Sort();
        return ranks;
    }

    /// <summary>Removes <paramref name="rank"/>'s marker (see <see cref="LeaveProbe"/>); a marker already gone is fine.</summary>
    public void RemoveProbe(string token, int rank)
    {
        try
        {
            using var root = OpenRoot(create: false);
            root?.Delete(ProbeName(token, rank));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A hidden empty file; the next job's probe has another token.
        }
    }

    /// <summary>The newest checkpoint below <paramref name="below"/> that has a manifest file here (not verified), or -1.</summary>
    public long NewestWithManifest(long below)
    {
        try
        {
            foreach (var id in ListIds())
            {
                if (id < below && HasManifest(id))
                {
                    return id;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An unreadable level holds nothing this rank can load.
        }

        return -1;
    }

    /// <summary>The number of checkpoints here with a manifest file, and the number of folders without.</summary>
    public (int Complete, int Incomplete) Count()
    {
        var ids = ListIds();
        var complete = ids.Count(HasManifest);
        return (complete, ids.Count - complete);
    }

    /// <summary>
    /// Copies <paramref name="part"/> of checkpoint <paramref name="id"/> from this folder into the same checkpoint
    /// of <paramref name="target"/>: to a hidden temporary name, flushed, renamed into place, the folders flushed,
    /// and then read back and checked against the part's SHA-256. A copy at the part's name is therefore whole
    /// or, if damaged later, caught by the same check when it is loaded.
    /// </summary>
    /// <exception cref="IOException">Either side refused, the source does not match its checksum, or the copy does not verify.</exception>
    public void CopyPartTo(CheckpointStore target, long id, CheckpointPart part)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(part);
        using var source = OpenCheckpoint(id) ?? throw new DirectoryNotFoundException($"{NameOf(id)} is not in {Root}");
        using var input = new FileStream(source.OpenRead(part.FileName), FileAccess.Read, 1 << 16);
        using var targetRoot = target.OpenRoot(create: true)!;
        using var folder = targetRoot.OpenFolder(NameOf(id), create: true);
        var temporary = $".{part.FileName}.{Environment.ProcessId}-{TemporaryToken}.tmp";
        try
        {
            using (var output = new FileStream(folder.CreateNew(temporary), FileAccess.Write, 1))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = input.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    output.Write(buffer, 0, read);
                }

                output.Flush(flushToDisk: true);
                if (!string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), part.Sha256, StringComparison.Ordinal))
                {
                    throw new IOException($"{part.FileName} in {FolderOf(id)} no longer matches its SHA-256; not copied");
                }
            }

            folder.Rename(temporary, folder, part.FileName);
        }
        catch
        {
            TryDelete(folder, temporary);
            throw;
        }

        folder.Flush();
        targetRoot.Flush();
        if (target.VerifyPart(id, part) is { } problem)
        {
            throw new IOException($"the copy in {target.FolderOf(id)} does not verify: {problem}");
        }
    }

    /// <summary>Like <see cref="WriteManifest"/>, but creates the checkpoint's folder first when it is not there yet (the shared level).</summary>
    /// <exception cref="IOException">The disk refused.</exception>
    public void WriteManifestCreatingFolder(CheckpointManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        using (var root = OpenRoot(create: true)!)
        using (root.OpenFolder(NameOf(manifest.Id), create: true))
        {
            root.Flush();
        }

        WriteManifest(manifest);
    }

    private static string ProbeName(string token, int rank) =>
        ProbePrefix + token + "-" + rank.ToString(CultureInfo.InvariantCulture);
}
