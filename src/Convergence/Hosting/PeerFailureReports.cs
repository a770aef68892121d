using System.Globalization;
using System.Text;
using Convergence.FileSystem;

namespace Convergence.Hosting;

/// <summary>
/// The hand-over of a failure from another rank to rank 0, through a small folder in the service folder:
/// a failing rank writes <c>rank-N.txt</c> with its one-line error, rank 0's watcher records the FAILED
/// result and page (with its journal and history) and answers with <c>recorded.txt</c>.
/// </summary>
/// <remarks>
/// MPI cannot carry it: rank 0's main thread may be blocked in the very collective the failing rank will
/// never join, and background threads never call MPI. The service folder is shared by every rank's
/// container (the SemWES contract allows it for cross-node files; checkpoints use it the same way). Files
/// are written atomically; rank 0 clears the folder at start, before any rank may fail.
/// </remarks>
internal sealed class PeerFailureReports
{
    /// <summary>The folder's name inside the service folder.</summary>
    public const string FolderName = ".convergence-failures";

    private const string RecordedName = "recorded.txt";

    private readonly string _serviceDirectory;

    /// <summary>Uses the folder inside <paramref name="serviceDirectory"/>.</summary>
    public PeerFailureReports(string serviceDirectory)
    {
        _serviceDirectory = serviceDirectory;
        Folder = Path.Combine(serviceDirectory, FolderName);
    }

    /// <summary>The folder reports go to.</summary>
    public string Folder { get; }

    /// <summary>Rank 0 at start: removes what an earlier run in the same service folder left (a link there is removed as a link).</summary>
    public void Clear()
    {
        using var service = FolderHandle.TryOpen(_serviceDirectory, followLink: true);
        service?.Delete(FolderName);
    }

    /// <summary>A failing rank: hands its error to rank 0.</summary>
    /// <exception cref="IOException">The folder cannot be written, or it is a link (refused, never written through).</exception>
    public void Report(int rank, string error)
    {
        using var folder = OpenFolder(create: true)!;
        folder.WriteAtomically(string.Create(CultureInfo.InvariantCulture, $"rank-{rank}.txt"), Encoding.UTF8.GetBytes(error.Replace('\n', ' ') + "\n"));
    }

    /// <summary>Rank 0's watcher: true once any rank has reported (one stat; cheap enough for a background poll).</summary>
    public bool AnyReported() => Directory.Exists(Folder);

    /// <summary>Rank 0: every report present, lowest rank first. Only regular files count: a link or FIFO there is never read.</summary>
    public IReadOnlyList<(int Rank, string Error)> Collect()
    {
        var reports = new List<(int, string)>();
        using var folder = OpenQuietly();
        if (folder is null)
        {
            return reports;
        }

        foreach (var (name, kind) in folder.Entries())
        {
            if (kind != EntryKind.File
                || !name.StartsWith("rank-", StringComparison.Ordinal)
                || !name.EndsWith(".txt", StringComparison.Ordinal)
                || !int.TryParse(name.AsSpan(5, name.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out var rank))
            {
                continue;
            }

            try
            {
                reports.Add((rank, folder.ReadAllText(name).Trim()));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                reports.Add((rank, $"rank {rank} failed (its report could not be read: {ex.Message})"));
            }
        }

        reports.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return reports;
    }

    /// <summary>Rank 0: tells the failing ranks that the FAILED result is written (naming the rank it names).</summary>
    /// <exception cref="IOException">The folder cannot be written, or it is a link.</exception>
    public void Acknowledge(int rank)
    {
        using var folder = OpenFolder(create: true)!;
        folder.WriteAtomically(RecordedName, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"failed_rank={rank}\n")));
    }

    /// <summary>A failing rank: waits until rank 0 has recorded a failure, at most <paramref name="timeout"/>.</summary>
    public bool WaitForRecorded(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!IsRecorded())
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            Thread.Sleep(20);
        }

        return true;
    }

    private bool IsRecorded()
    {
        using var folder = OpenQuietly();
        return folder?.KindOf(RecordedName) == EntryKind.File;
    }

    /// <summary>The hand-over folder for reading, or null when it is missing or not a folder (a link is never followed).</summary>
    private FolderHandle? OpenQuietly()
    {
        try
        {
            return OpenFolder(create: false);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The hand-over folder, opened without following a link (the service folder itself may be one).</summary>
    private FolderHandle? OpenFolder(bool create)
    {
        using var service = create
            ? FolderHandle.Open(_serviceDirectory, create: false, followLink: true)
            : FolderHandle.TryOpen(_serviceDirectory, followLink: true);
        return service is null ? null : create ? service.OpenFolder(FolderName, create: true) : service.TryOpenFolder(FolderName);
    }
}
