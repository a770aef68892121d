using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Intake;

/// <summary>
/// <c>stat</c> for paths and open handles. .NET has no API for a file's inode, which is what tells a
/// re-created notifications file from the one the tail holds open, so this calls Linux's <c>statx</c>.
/// </summary>
/// <remarks>
/// <c>statx</c> (glibc 2.28+, Linux 4.11+) has the same structure layout on every architecture, unlike
/// <c>struct stat</c>. Where it is missing (other systems, very old glibc) the identity is reported as
/// <see langword="default"/> and <see cref="IdentityAvailable"/> is false: the tail then still follows
/// growth and truncation, but cannot tell a replaced file from the same one.
/// </remarks>
internal static partial class UnixFileStatus
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int Enoent = 2;
    private const int Enotdir = 20;
    private const int StatxSize = 256;
    private const ushort FileTypeMask = 0xF000;
    private const ushort RegularFile = 0x8000;

    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>False when <c>statx</c> is not available and identities are unknown.</summary>
    public static bool IdentityAvailable => !_unavailable;

    /// <summary>Looks at <paramref name="path"/>; false when it does not exist.</summary>
    /// <exception cref="IOException">Any other failure (permissions, I/O error).</exception>
    public static unsafe bool TryStat(string path, out FileStatus status)
    {
        if (_unavailable)
        {
            return TryStatPortable(path, out status);
        }

        var buffer = stackalloc byte[StatxSize];
        int rc;
        try
        {
            rc = Statx(AtFdCwd, path, 0, StatxBasicStats, buffer);
        }
        catch (EntryPointNotFoundException)
        {
            _unavailable = true;
            return TryStatPortable(path, out status);
        }

        if (rc != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Enoent or Enotdir)
            {
                status = default;
                return false;
            }

            throw new IOException($"cannot stat {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }

        status = Read(buffer);
        return true;
    }

    /// <summary>Looks at the file behind an open handle (which may since have been deleted or renamed).</summary>
    public static unsafe FileStatus Stat(SafeFileHandle handle)
    {
        if (_unavailable)
        {
            return new FileStatus(default, RandomAccess.GetLength(handle), true, DateTime.UtcNow);
        }

        var buffer = stackalloc byte[StatxSize];
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int rc;
            try
            {
                rc = Statx((int)handle.DangerousGetHandle(), string.Empty, AtEmptyPath, StatxBasicStats, buffer);
            }
            catch (EntryPointNotFoundException)
            {
                _unavailable = true;
                return new FileStatus(default, RandomAccess.GetLength(handle), true, DateTime.UtcNow);
            }

            if (rc != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"cannot stat an open notifications file: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }

            return Read(buffer);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static unsafe FileStatus Read(byte* b)
    {
        // Offsets of struct statx (linux/stat.h), identical on all architectures.
        var mode = *(ushort*)(b + 28);
        var inode = *(ulong*)(b + 32);
        var size = *(long*)(b + 40);
        var mtimeSeconds = *(long*)(b + 112);
        var mtimeNanos = *(uint*)(b + 120);
        var devMajor = *(uint*)(b + 136);
        var devMinor = *(uint*)(b + 140);
        var mtime = DateTime.UnixEpoch.AddSeconds(mtimeSeconds).AddTicks(mtimeNanos / 100);
        return new FileStatus(new FileIdentity(((ulong)devMajor << 32) | devMinor, inode), size, (mode & FileTypeMask) == RegularFile, mtime);
    }

    private static bool TryStatPortable(string path, out FileStatus status)
    {
        var info = new FileInfo(path);
        if (info.Exists)
        {
            status = new FileStatus(default, info.Length, true, info.LastWriteTimeUtc);
            return true;
        }

        // Something that is not a file (a directory) exists but must not be opened.
        status = new FileStatus(default, 0, false, DateTime.UtcNow);
        return Directory.Exists(path);
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
