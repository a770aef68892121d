using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Checkpoints;

/// <summary>
/// Asks the kernel to start writing a file range to the device now, without waiting for it
/// (<c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>), so a checkpoint's later fsync finds most of the part
/// already on its way. Only a hint: durability still comes from the fsync.
/// </summary>
internal static partial class Writeback
{
    private const uint SyncFileRangeWrite = 2;

    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Starts the device write of <paramref name="count"/> bytes at <paramref name="offset"/>; a no-op where the call does not exist.</summary>
    public static void Start(SafeFileHandle file, long offset, long count)
    {
        if (_unavailable)
        {
            return;
        }

        try
        {
            // A failure (a file system that does not support it) is ignored: the fsync that follows is what counts.
            _ = SyncFileRange((int)file.DangerousGetHandle(), offset, count, SyncFileRangeWrite);
        }
        catch (EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long count, uint flags);
}
