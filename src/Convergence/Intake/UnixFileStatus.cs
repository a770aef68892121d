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
    private const int AtSymlinkNoFollow = 0x100;
    private const int OpenReadOnlyNonBlockingCloseOnExec = 0x800 | 0x80000;
    private const int Eintr = 4;
    private const int Eloop = 40;
    private const uint StatxBasicStats = 0x7ff;
    private const int Enoent = 2;
    private const int Enotdir = 20;
    private const int StatxSize = 256;
    private const ushort FileTypeMask = 0xF000;
    private const ushort RegularFile = 0x8000;
    private const ushort Directory = 0x4000;

    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>False when <c>statx</c> is not available and identities are unknown.</summary>
    public static bool IdentityAvailable => !_unavailable;

    /// <summary>Looks at <paramref name="path"/> itself, not at what a symbolic link there points to; false when it does not exist.</summary>
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
            rc = Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buffer);
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
            return new FileStatus(default, RandomAccess.GetLength(handle), RegularFile, DateTime.UtcNow);
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
                return new FileStatus(default, RandomAccess.GetLength(handle), RegularFile, DateTime.UtcNow);
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
        return new FileStatus(new FileIdentity(((ulong)devMajor << 32) | devMinor, inode), size, (ushort)(mode & FileTypeMask), mtime);
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading the way a folder others can write must be read: a symbolic
    /// link is not followed, a FIFO or device cannot block the caller (<c>O_NOFOLLOW | O_NONBLOCK</c>), and
    /// what was opened is then checked through the descriptor (<c>fstat</c>), so nothing swapped in between a
    /// check and the open is ever read. Anything but a regular file is closed again at once.
    /// </summary>
    /// <returns>The open file; null when the path does not exist (<paramref name="refusal"/> null) or was refused.</returns>
    /// <param name="path">The file to open.</param>
    /// <param name="status">The opened file's status (default when null is returned).</param>
    /// <param name="refusal">Why the path was not opened (one line), or null.</param>
    public static SafeFileHandle? OpenRegularFile(string path, out FileStatus status, out string? refusal)
    {
        status = default;
        refusal = null;
        if (_unavailable || !OperatingSystem.IsLinux())
        {
            return OpenPortable(path, out status, out refusal);
        }

        int fd;
        int errno;
        do
        {
            fd = Open(path, OpenReadOnlyNonBlockingCloseOnExec | NoFollowFlag);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (fd < 0 && errno == Eintr);

        if (fd < 0)
        {
            refusal = errno switch
            {
                Enoent or Enotdir => null,
                Eloop => $"{path} is a symbolic link; refused (links in the service folder are not followed)",
                _ => $"{path} cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})",
            };
            return null;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            status = Stat(handle);
            if (status.IsRegularFile)
            {
                var result = handle;
                handle = null;
                return result;
            }

            refusal = $"{path} is {status.Kind}, not a regular file; refused";
            status = default;
            return null;
        }
        catch (IOException ex)
        {
            refusal = $"{path} was opened but cannot be examined: {ex.Message}";
            status = default;
            return null;
        }
        finally
        {
            handle?.Dispose();
        }
    }

    /// <summary><c>O_NOFOLLOW</c>, whose value differs between architectures.</summary>
    private static int NoFollowFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 or Architecture.Ppc64le
        ? 0x8000
        : 0x20000;

    private static SafeFileHandle? OpenPortable(string path, out FileStatus status, out string? refusal)
    {
        status = default;
        refusal = null;
        if (!TryStatPortable(path, out var before))
        {
            return null;
        }

        if (!before.IsRegularFile)
        {
            refusal = $"{path} is {before.Kind}, not a regular file; refused";
            return null;
        }

        try
        {
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            status = new FileStatus(default, RandomAccess.GetLength(handle), RegularFile, DateTime.UtcNow);
            return handle;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            refusal = $"{path} cannot be opened: {ex.Message}";
            return null;
        }
    }

    private static bool TryStatPortable(string path, out FileStatus status)
    {
        var info = new FileInfo(path);
        if (info.Exists)
        {
            status = new FileStatus(default, info.Length, RegularFile, info.LastWriteTimeUtc);
            return true;
        }

        // Something that is not a file (a directory) exists but must not be opened.
        status = new FileStatus(default, 0, Directory, DateTime.UtcNow);
        return System.IO.Directory.Exists(path);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
