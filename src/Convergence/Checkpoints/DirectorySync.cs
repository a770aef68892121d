using System.Runtime.InteropServices;

namespace Convergence.Checkpoints;

/// <summary>
/// Flushes a folder's entries to disk. A rename is only durable once the folder that holds it is flushed:
/// without this a power loss could keep the data but lose the name, and the checkpoint with it.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;

    /// <summary>fsync on the folder; a no-op where the platform has no such call (Windows flushes metadata itself).</summary>
    /// <exception cref="IOException">The folder could not be opened or flushed.</exception>
    public static void Flush(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return;
        }

        var fd = Open(folder, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"cannot open folder {folder} to flush it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            // Some file systems (and some FUSE mounts) refuse fsync on a folder with EINVAL: they flush
            // metadata themselves, so that answer is not a failure.
            if (Fsync(fd) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != 22)
            {
                throw new IOException($"fsync of folder {folder} failed (errno {errno})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
