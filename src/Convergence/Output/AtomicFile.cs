using System.Security.Cryptography;
using System.Text;
using Convergence.Checkpoints;

namespace Convergence.Output;

/// <summary>
/// Writes files that another process reads while we write them: the reader sees the old content or the
/// new, never a mix or a truncated file (temporary file in the same folder, then rename).
/// </summary>
/// <remarks>
/// The temporary name carries a random token drawn once per process, not only the process id: ranks in
/// separate containers (separate PID namespaces) can have the same id and write into the same shared
/// folder, and a name collision would make one writer fail or delete the other's file.
/// </remarks>
public static class AtomicFile
{
    private static readonly string ProcessToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private static long _counter;

    /// <summary>Replaces <paramref name="path"/> with <paramref name="content"/> (UTF-8, no BOM) atomically.</summary>
    /// <param name="path">The file to replace; its folder must exist.</param>
    /// <param name="content">The full new content.</param>
    /// <param name="durable">Also flush the data to the storage device before the rename, and the folder after it (checkpoints, results, final pages).</param>
    public static void WriteAllText(string path, string content, bool durable = false) =>
        Write(path, stream =>
        {
            var bytes = Encoding.UTF8.GetBytes(content);
            stream.Write(bytes);
        }, durable);

    /// <summary>Replaces <paramref name="path"/> with what <paramref name="write"/> puts into the stream, atomically.</summary>
    /// <param name="path">The file to replace; its folder must exist.</param>
    /// <param name="write">Writes the full new content.</param>
    /// <param name="durable">Also flush the data before the rename and the folder's entry after it: a rename is durable only once its folder is.</param>
    public static void Write(string path, Action<Stream> write, bool durable = false)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? ".";
        var temporary = Path.Combine(
            folder,
            $".{Path.GetFileName(full)}.{Environment.ProcessId}-{ProcessToken}.{Interlocked.Increment(ref _counter)}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                write(stream);
                stream.Flush(durable);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }

        if (durable)
        {
            DirectorySync.Flush(folder);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
