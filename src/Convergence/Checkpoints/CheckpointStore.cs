using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Convergence.FileSystem;

namespace Convergence.Checkpoints;

/// <summary>
/// The checkpoint folder on disk: one sub-folder per checkpoint (<c>ckpt-00000012/</c>) holding one part per
/// rank (<c>rank-00000.part</c>) and, once complete, <c>manifest.txt</c>. File operations only, no collectives.
/// </summary>
/// <remarks>
/// Each rank writes its part in place and flushes it to disk; rank 0 then writes the manifest (temporary
/// file, flush, rename) and flushes the folder and the root. The manifest is written last, so at every
/// instant each checkpoint folder is either complete (a manifest whose checksums match every part) or
/// ignored; a crash never damages an older checkpoint. Other files in a checkpoint folder (a rank 0 side
/// file, say) are left alone and removed with the folder.
/// Thread-safety: none needed; each rank uses its own instance from the loop's thread.
/// </remarks>
public sealed partial class CheckpointStore
{
    /// <summary>The name of the file that makes a checkpoint complete.</summary>
    public const string ManifestName = "manifest.txt";

    /// <summary>
    /// Fault injection for the crash tests: <c>manifest:ID</c> stops rank 0 halfway through writing checkpoint
    /// ID's manifest, <c>prune:ID</c> halfway through removing the first old folder after checkpoint ID, so a
    /// test can SIGKILL the job at exactly that moment. Unset in production: then it costs one string compare.
    /// </summary>
    public const string StallVariable = "CONVERGENCE_TEST_STALL_CHECKPOINT";

    /// <summary>
    /// The folder a pruned checkpoint's parts wait in to be written over by the next checkpoint (hidden, never
    /// listed as a checkpoint, never read).
    /// </summary>
    public const string SpareName = ".ckpt-spare";

    private const string Prefix = "ckpt-";

    private static readonly string? Stall = Environment.GetEnvironmentVariable(StallVariable);

    // Temporary manifest names carry a random token, not only the process id: ranks in separate containers
    // (separate PID namespaces) can share an id.
    private static readonly string TemporaryToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>Uses <paramref name="root"/> (created when the first checkpoint is written).</summary>
    public CheckpointStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>The checkpoint folder, absolute.</summary>
    public string Root { get; }

    /// <summary>Test hook: runs with the checkpoint's id before its manifest is written (may block or throw an IOException).</summary>
    internal Action<long>? BeforeManifest { get; init; }

    /// <summary>The folder of checkpoint <paramref name="id"/>.</summary>
    public string FolderOf(long id) => Path.Combine(Root, Prefix + id.ToString("D8", CultureInfo.InvariantCulture));

    /// <summary>The folder whose parts the next checkpoint reuses (see <see cref="Prune"/>).</summary>
    public string SpareFolder => Path.Combine(Root, SpareName);

    /// <summary>The file name of <paramref name="rank"/>'s part.</summary>
    public static string PartName(int rank) => "rank-" + rank.ToString("D5", CultureInfo.InvariantCulture) + ".part";

    /// <summary>The name a user sees for checkpoint <paramref name="id"/>.</summary>
    public static string NameOf(long id) => Prefix + id.ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>Every checkpoint folder's id, complete or not, newest first. Links named like checkpoints are not listed.</summary>
    public IReadOnlyList<long> ListIds()
    {
        using var root = OpenRoot(create: false);
        if (root is null)
        {
            return [];
        }

        var ids = new List<long>();
        foreach (var (name, kind) in root.Entries())
        {
            // A link is never a checkpoint: listing it would let pruning reach into the folder it points to.
            if (kind == EntryKind.Folder
                && name.StartsWith(Prefix, StringComparison.Ordinal)
                && long.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
        }

        ids.Sort((a, b) => b.CompareTo(a));
        return ids;
    }

    /// <summary>True when checkpoint <paramref name="id"/> is a folder with a manifest file (not yet verified).</summary>
    public bool HasManifest(long id)
    {
        try
        {
            using var folder = OpenCheckpoint(id);
            return folder?.KindOf(ManifestName) == EntryKind.File;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Writes <paramref name="rank"/>'s part of checkpoint <paramref name="id"/> durably; <paramref name="write"/>
    /// gets a stream that hashes as it goes. Returns the part as the manifest will name it.
    /// </summary>
    /// <remarks>
    /// In place, without a temporary file and rename: the manifest, written only after every part is on disk,
    /// is what makes a checkpoint complete, and it names each part's size and SHA-256, so a part torn by a
    /// crash is never loaded. The part's name becomes durable with rank 0's flush of the folder before the
    /// manifest is final; this rank only flushes the data.
    /// When the spare folder holds this rank's part of a pruned checkpoint, that file is moved here and written
    /// over (then cut to the new length): overwriting blocks the file system has already allocated costs far
    /// less at the flush than allocating new ones, and the pruning then has nothing to delete (measured in
    /// benchmarks/RESULTS.md). Each rank moves only its own file, so no rank waits for another.
    /// Nothing is opened through a link: a link (or FIFO) planted at the part's name is removed and a new
    /// file written, and a checkpoint folder that is a link is refused (<see cref="FolderHandle"/>).
    /// </remarks>
    /// <exception cref="IOException">The disk refused (full, gone, no permission wrapped as IO), or the folder is a link.</exception>
    public CheckpointPart WritePart(long id, int rank, Action<Stream> write)
    {
        using var root = OpenRoot(create: true)!;
        using var folder = root.OpenFolder(NameOf(id), create: true);
        var name = PartName(rank);
        TakeSpare(root, folder, name);
        try
        {
            // Open, not truncate: a reused file keeps its blocks and is cut to length after the write.
            using var file = folder.OpenOrCreateForWrite(name);
            using var stream = new HashingWriteStream(file);
            try
            {
                write(stream);
                var sha = stream.FlushAndHash();
                return new CheckpointPart(rank, name, stream.Length, sha);
            }
            finally
            {
                stream.Release();
            }
        }
        catch
        {
            TryDelete(folder, name);
            throw;
        }
    }

    /// <summary>
    /// Writes the manifest that completes a checkpoint, durably (temporary file, fsync, rename, then a flush of
    /// the checkpoint's folder, which also makes the parts' names durable), and flushes the root (the folder's
    /// own name).
    /// </summary>
    /// <exception cref="IOException">The disk refused, or the checkpoint's folder is gone or was replaced by a link.</exception>
    public void WriteManifest(CheckpointManifest manifest)
    {
        BeforeManifest?.Invoke(manifest.Id);
        using var root = OpenRoot(create: false) ?? throw new DirectoryNotFoundException($"checkpoint folder {Root} is gone");
        using var folder = root.OpenFolder(NameOf(manifest.Id), create: false);
        var bytes = Encoding.UTF8.GetBytes(manifest.Format());
        var temporary = $".{ManifestName}.{Environment.ProcessId}-{TemporaryToken}.tmp";
        try
        {
            using (var stream = new FileStream(folder.CreateNew(temporary), FileAccess.Write, 1))
            {
                var written = 0;
                if (StallsAt("manifest", manifest.Id))
                {
                    written = bytes.Length / 2;
                    stream.Write(bytes.AsSpan(0, written));
                    stream.Flush(flushToDisk: true);
                    StallHere($"writing the manifest of {NameOf(manifest.Id)}");
                }

                stream.Write(bytes.AsSpan(written));
                stream.Flush(flushToDisk: true);
            }

            folder.Rename(temporary, folder, ManifestName);
        }
        catch
        {
            TryDelete(folder, temporary);
            throw;
        }

        folder.Flush();
        root.Flush();
    }

    /// <summary>Reads and verifies checkpoint <paramref name="id"/>'s manifest (not its parts).</summary>
    /// <exception cref="InvalidDataException">Missing, truncated, edited, naming another checkpoint, or not a regular file.</exception>
    public CheckpointManifest ReadManifest(long id)
    {
        string text;
        try
        {
            using var folder = OpenCheckpoint(id) ?? throw new DirectoryNotFoundException($"{NameOf(id)} does not exist");
            using var handle = folder.OpenRead(ManifestName);
            using var stream = new FileStream(handle, FileAccess.Read, 1);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            text = reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"manifest unreadable: {ex.Message}", ex);
        }

        var manifest = CheckpointManifest.Parse(text);
        return manifest.Id == id
            ? manifest
            : throw new InvalidDataException($"manifest in {NameOf(id)} names checkpoint {manifest.Id} (folder copied or renamed?)");
    }

    /// <summary>
    /// Checks that <paramref name="part"/> of checkpoint <paramref name="id"/> exists with the manifest's size
    /// and SHA-256. Returns null when it does, otherwise the reason in a few words.
    /// </summary>
    public string? VerifyPart(long id, CheckpointPart part)
    {
        using var stream = OpenVerifiedPart(id, part, out var problem);
        return problem;
    }

    /// <summary>
    /// Opens <paramref name="part"/> of checkpoint <paramref name="id"/> once, checks its size and SHA-256
    /// through that same descriptor and returns it rewound, for the solver to read: what was verified is what
    /// is read, even if another job replaces the file in between. Null, with <paramref name="problem"/> saying
    /// why, when it is missing, not a regular file, or does not match.
    /// </summary>
    public Stream? OpenVerifiedPart(long id, CheckpointPart part, out string? problem)
    {
        FileStream? stream = null;
        try
        {
            using var folder = OpenCheckpoint(id) ?? throw new FileNotFoundException($"{NameOf(id)} does not exist");
            stream = new FileStream(folder.OpenRead(part.FileName), FileAccess.Read, 1 << 16);
            if (stream.Length != part.Length)
            {
                problem = FormattableString.Invariant($"{part.FileName} has {stream.Length} bytes, the manifest says {part.Length} (truncated or overwritten)");
                stream.Dispose();
                return null;
            }

            var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (!string.Equals(actual, part.Sha256, StringComparison.Ordinal))
            {
                problem = $"{part.FileName} does not match its SHA-256 in the manifest (altered or damaged)";
                stream.Dispose();
                return null;
            }

            stream.Position = 0;
            problem = null;
            return stream;
        }
        catch (FileNotFoundException)
        {
            stream?.Dispose();
            problem = $"{part.FileName} is missing";
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stream?.Dispose();
            problem = $"{part.FileName} unreadable: {ex.Message}";
            return null;
        }
    }

    /// <summary>Opens a part for the solver to read (not verified: see <see cref="OpenVerifiedPart"/>); never through a link.</summary>
    /// <exception cref="IOException">Missing, or not a regular file.</exception>
    public Stream OpenPart(long id, CheckpointPart part)
    {
        using var folder = OpenCheckpoint(id) ?? throw new FileNotFoundException($"{NameOf(id)} does not exist");
        return new FileStream(folder.OpenRead(part.FileName), FileAccess.Read, 1 << 16);
    }

    /// <summary>
    /// Keeps the newest <paramref name="keep"/> checkpoints that have a manifest and removes older ones, and
    /// removes incomplete folders older than <paramref name="newest"/> (left by a crash or a failed write).
    /// Returns the names removed.
    /// </summary>
    /// <remarks>
    /// The first folder removed is not deleted but becomes the spare folder (its manifest deleted first, every
    /// entry but the parts next, then renamed), whose parts the next checkpoint writes over; an older spare is
    /// deleted. The spare is never a checkpoint: it is not listed, and a part moved out of it counts only once
    /// a new manifest names its new size and SHA-256. So the folder holds at most one checkpoint's worth of
    /// parts beyond <paramref name="keep"/>.
    /// Every removal goes through the folder's descriptor and never follows a link: a link in a checkpoint
    /// folder, or a checkpoint folder swapped for a link while this runs, is removed as a link, and the files
    /// it points to are untouched.
    /// </remarks>
    public IReadOnlyList<string> Prune(int keep, long newest)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        var removed = new List<string>();
        using var root = OpenRoot(create: false);
        if (root is null)
        {
            return removed;
        }

        var complete = 0;
        foreach (var id in ListIds())
        {
            if (id > newest)
            {
                continue;
            }

            var hasManifest = HasManifest(id);
            if (hasManifest && ++complete <= keep)
            {
                continue;
            }

            if (id == newest)
            {
                continue;
            }

            var name = NameOf(id);
            try
            {
                Remove(root, name, spare: removed.Count == 0, newest);
                removed.Add(name);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left for the next prune; a stale folder costs disk, never correctness. A link swapped in is
                // removed as a link.
                TryDelete(root, name, onlyIfNotAFolder: true);
            }
        }

        return removed;
    }

    /// <summary>Removes the spare folder and what it holds, if there is one (at the job's end).</summary>
    /// <exception cref="IOException">It could not be removed.</exception>
    public void RemoveSpare()
    {
        using var root = OpenRoot(create: false);
        root?.Delete(SpareName);
    }

    /// <summary>The checkpoint folder, opened; the user's own path may be a link (to a parallel file system, say).</summary>
    private FolderHandle? OpenRoot(bool create) =>
        create ? FolderHandle.Open(Root, create: true, followLink: true) : FolderHandle.TryOpen(Root, followLink: true);

    /// <summary>Checkpoint <paramref name="id"/>'s folder, or null when there is none; a link there is refused.</summary>
    private FolderHandle? OpenCheckpoint(long id)
    {
        using var root = OpenRoot(create: false);
        return root?.TryOpenFolder(NameOf(id));
    }

    /// <summary>Removes checkpoint folder <paramref name="name"/>, manifest first; with <paramref name="spare"/> it becomes the spare if it can.</summary>
    private static void Remove(FolderHandle root, string name, bool spare, long newest)
    {
        using var folder = root.OpenFolder(name, create: false);

        // The manifest goes first: a folder half-deleted by a crash must never look complete.
        folder.Delete(ManifestName);
        if (spare && StallsAt("prune", newest))
        {
            var first = folder.Entries().FirstOrDefault(e => e.Kind == EntryKind.File).Name;
            if (first is not null)
            {
                folder.Delete(first);
            }

            StallHere($"removing {name} after {NameOf(newest)}");
        }

        if (!spare || !TryMakeSpare(root, folder, name))
        {
            root.Delete(name);
        }
    }

    /// <summary>Moves this rank's part of the spare folder into <paramref name="folder"/>, if there is one.</summary>
    private static void TakeSpare(FolderHandle root, FolderHandle folder, string name)
    {
        try
        {
            using var spare = root.TryOpenFolder(SpareName);
            if (spare is not null && spare.KindOf(name) == EntryKind.File)
            {
                spare.Rename(name, folder, name);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // No spare (the first checkpoints, or rank 0 has not pruned yet), or not one to trust: a new file.
        }
    }

    /// <summary>
    /// Turns checkpoint folder <paramref name="name"/>, whose manifest is already gone, into the spare folder:
    /// every entry but the parts deleted, an older spare deleted, then one rename. False when any step fails
    /// (the caller then deletes the folder); a crash in between leaves either an incomplete checkpoint folder
    /// or a spare.
    /// </summary>
    private static bool TryMakeSpare(FolderHandle root, FolderHandle folder, string name)
    {
        try
        {
            foreach (var (entry, kind) in folder.Entries())
            {
                if (kind != EntryKind.File || !entry.StartsWith("rank-", StringComparison.Ordinal) || !entry.EndsWith(".part", StringComparison.Ordinal))
                {
                    folder.Delete(entry);
                }
            }

            root.Delete(SpareName);
            root.Rename(name, root, SpareName);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryDelete(FolderHandle folder, string name, bool onlyIfNotAFolder = false)
    {
        try
        {
            if (!onlyIfNotAFolder || folder.KindOf(name) is EntryKind.Link or EntryKind.File or EntryKind.Other)
            {
                folder.Delete(name);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A torn part without a manifest is ignored and removed by a later prune.
        }
    }

    private static bool StallsAt(string phase, long id) =>
        Stall is not null && string.Equals(Stall, FormattableString.Invariant($"{phase}:{id}"), StringComparison.Ordinal);

    private static void StallHere(string where)
    {
        Console.Out.WriteLine($"checkpoint test stall: {where} ({StallVariable}); waiting to be killed");
        Console.Out.Flush();
        Thread.Sleep(TimeSpan.FromSeconds(120));
    }
}
