using System.Globalization;
using Convergence.Output;

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

    /// <summary>Uses the folder inside <paramref name="serviceDirectory"/>.</summary>
    public PeerFailureReports(string serviceDirectory)
    {
        Folder = Path.Combine(serviceDirectory, FolderName);
    }

    /// <summary>The folder reports go to.</summary>
    public string Folder { get; }

    /// <summary>Rank 0 at start: removes what an earlier run in the same service folder left.</summary>
    public void Clear()
    {
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }

    /// <summary>A failing rank: hands its error to rank 0.</summary>
    /// <exception cref="IOException">The folder cannot be written.</exception>
    public void Report(int rank, string error)
    {
        Directory.CreateDirectory(Folder);
        AtomicFile.WriteAllText(Path.Combine(Folder, string.Create(CultureInfo.InvariantCulture, $"rank-{rank}.txt")), error.Replace('\n', ' ') + "\n");
    }

    /// <summary>Rank 0's watcher: true once any rank has reported (one stat; cheap enough for a background poll).</summary>
    public bool AnyReported() => Directory.Exists(Folder);

    /// <summary>Rank 0: every report present, lowest rank first.</summary>
    public IReadOnlyList<(int Rank, string Error)> Collect()
    {
        var reports = new List<(int, string)>();
        if (!Directory.Exists(Folder))
        {
            return reports;
        }

        foreach (var path in Directory.EnumerateFiles(Folder, "rank-*.txt"))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (!int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var rank))
            {
                continue;
            }

            try
            {
                reports.Add((rank, File.ReadAllText(path).Trim()));
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
    public void Acknowledge(int rank)
    {
        Directory.CreateDirectory(Folder);
        AtomicFile.WriteAllText(Path.Combine(Folder, RecordedName), string.Create(CultureInfo.InvariantCulture, $"failed_rank={rank}\n"));
    }

    /// <summary>A failing rank: waits until rank 0 has recorded a failure, at most <paramref name="timeout"/>.</summary>
    public bool WaitForRecorded(TimeSpan timeout)
    {
        var path = Path.Combine(Folder, RecordedName);
        var deadline = DateTime.UtcNow + timeout;
        while (!File.Exists(path))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            Thread.Sleep(20);
        }

        return true;
    }
}
