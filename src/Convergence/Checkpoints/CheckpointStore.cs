using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Convergence.Output;

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
public sealed class CheckpointStore
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

    /// <summary>Every checkpoint folder's id, complete or not, newest first.</summary>
    public IReadOnlyList<long> ListIds()
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }

        var ids = new List<long>();
        foreach (var dir in Directory.EnumerateDirectories(Root, Prefix + "*"))
        {
            var name = Path.GetFileName(dir);
            if (long.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
        }

        ids.Sort((a, b) => b.CompareTo(a));
        return ids;
    }

    /// <summary>True when checkpoint <paramref name="id"/> has a manifest file (not yet verified).</summary>
    public bool HasManifest(long id) => File.Exists(Path.Combine(FolderOf(id), ManifestName));

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
    /// </remarks>
    /// <exception cref="IOException">The disk refused (full, gone, no permission wrapped as IO).</exception>
    public CheckpointPart WritePart(long id, int rank, Action<Stream> write)
    {
        var folder = FolderOf(id);
        Directory.CreateDirectory(folder);
        var name = PartName(rank);
        var path = Path.Combine(folder, name);
        TakeSpare(name, path);
        try
        {
            // OpenOrCreate, not Create: a reused file keeps its blocks and is cut to length after the write.
            using var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None);
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
            TryDelete(path);
            throw;
        }
    }

    /// <summary>
    /// Writes the manifest that completes a checkpoint, durably (temporary file, fsync, rename, then a flush of
    /// the checkpoint's folder, which also makes the parts' names durable), and flushes the root (the folder's
    /// own name).
    /// </summary>
    public void WriteManifest(CheckpointManifest manifest)
    {
        BeforeManifest?.Invoke(manifest.Id);
        var folder = FolderOf(manifest.Id);
        var bytes = Encoding.UTF8.GetBytes(manifest.Format());
        AtomicFile.Write(Path.Combine(folder, ManifestName), stream =>
        {
            var written = 0;
            if (StallsAt("manifest", manifest.Id))
            {
                written = bytes.Length / 2;
                stream.Write(bytes.AsSpan(0, written));
                stream.Flush();
                StallHere($"writing the manifest of {NameOf(manifest.Id)}");
            }

            stream.Write(bytes.AsSpan(written));
        }, durable: true);
        DirectorySync.Flush(Root);
    }

    /// <summary>Reads and verifies checkpoint <paramref name="id"/>'s manifest (not its parts).</summary>
    /// <exception cref="InvalidDataException">Missing, truncated, edited, or naming another checkpoint.</exception>
    public CheckpointManifest ReadManifest(long id)
    {
        var path = Path.Combine(FolderOf(id), ManifestName);
        string text;
        try
        {
            text = File.ReadAllText(path);
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
        var path = Path.Combine(FolderOf(id), part.FileName);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return $"{part.FileName} is missing";
            }

            if (info.Length != part.Length)
            {
                return FormattableString.Invariant($"{part.FileName} has {info.Length} bytes, the manifest says {part.Length} (truncated or overwritten)");
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            return string.Equals(actual, part.Sha256, StringComparison.Ordinal)
                ? null
                : $"{part.FileName} does not match its SHA-256 in the manifest (altered or damaged)";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"{part.FileName} unreadable: {ex.Message}";
        }
    }

    /// <summary>Opens a verified part for the solver to read.</summary>
    public Stream OpenPart(long id, CheckpointPart part) =>
        new FileStream(Path.Combine(FolderOf(id), part.FileName), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    /// <summary>
    /// Keeps the newest <paramref name="keep"/> checkpoints that have a manifest and removes older ones, and
    /// removes incomplete folders older than <paramref name="newest"/> (left by a crash or a failed write).
    /// Returns the names removed.
    /// </summary>
    /// <remarks>
    /// The first folder removed is not deleted but becomes the spare folder (its manifest deleted first, every
    /// file but the parts next, then renamed), whose parts the next checkpoint writes over; an older spare is
    /// deleted. The spare is never a checkpoint: it is not listed, and a part moved out of it counts only once
    /// a new manifest names its new size and SHA-256. So the folder holds at most one checkpoint's worth of
    /// parts beyond <paramref name="keep"/>.
    /// </remarks>
    public IReadOnlyList<string> Prune(int keep, long newest)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        var removed = new List<string>();
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

            var folder = FolderOf(id);
            try
            {
                // The manifest goes first: a folder half-deleted by a crash must never look complete.
                File.Delete(Path.Combine(folder, ManifestName));
                if (removed.Count == 0 && StallsAt("prune", newest))
                {
                    foreach (var file in Directory.EnumerateFiles(folder).Take(1).ToList())
                    {
                        File.Delete(file);
                    }

                    StallHere($"removing {NameOf(id)} after {NameOf(newest)}");
                }

                if (removed.Count > 0 || !TryMakeSpare(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }

                removed.Add(NameOf(id));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left for the next prune; a stale folder costs disk, never correctness.
            }
        }

        return removed;
    }

    /// <summary>Removes the spare folder and what it holds, if there is one (at the job's end).</summary>
    /// <exception cref="IOException">It could not be removed.</exception>
    public void RemoveSpare()
    {
        if (Directory.Exists(SpareFolder))
        {
            Directory.Delete(SpareFolder, recursive: true);
        }
    }

    /// <summary>Moves this rank's part of the spare folder to <paramref name="path"/>, if there is one.</summary>
    private void TakeSpare(string name, string path)
    {
        try
        {
            File.Move(Path.Combine(SpareFolder, name), path, overwrite: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // No spare (the first checkpoints, or rank 0 has not pruned yet): a new file, as without one.
        }
    }

    /// <summary>
    /// Turns <paramref name="folder"/>, whose manifest is already gone, into the spare folder: every file but
    /// the parts deleted, an older spare deleted, then one rename. False when any step fails (the caller then
    /// deletes the folder); a crash in between leaves either an incomplete checkpoint folder or a spare.
    /// </summary>
    private bool TryMakeSpare(string folder)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder).ToList())
            {
                var name = Path.GetFileName(file);
                if (!name.StartsWith("rank-", StringComparison.Ordinal) || !name.EndsWith(".part", StringComparison.Ordinal))
                {
                    File.Delete(file);
                }
            }

            if (Directory.Exists(SpareFolder))
            {
                Directory.Delete(SpareFolder, recursive: true);
            }

            Directory.Move(folder, SpareFolder);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
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
