using System.Runtime.InteropServices;

namespace Convergence.Cli.Commands;

/// <summary>
/// Appends bytes to a file with one <c>write(2)</c> on a descriptor opened with <c>O_APPEND</c>, the way
/// the SemWES service appends a message: the kernel moves to the end and writes in one step, so
/// concurrent appenders never overwrite each other and a reader never sees our bytes interleaved.
/// </summary>
/// <remarks>
/// <para>
/// .NET's <see cref="FileMode.Append"/> seeks to the end once and then writes at that offset
/// (<c>pwrite</c>), which loses data when another process appends in between; hence libc directly.
/// </para>
/// <para>
/// The service folder may be writable by others, so the path is opened with <c>O_NOFOLLOW</c> (a planted
/// symbolic link is never followed to a file of the user's, nor used to create one) and <c>O_NONBLOCK</c>
/// (a FIFO without a reader fails at once instead of blocking), and what was opened is checked with
/// <c>fstat</c>: anything but a regular file is refused with <see cref="NotARegularFileException"/>.
/// </para>
/// </remarks>
internal static class AtomicAppend
{
    // Linux values (x86-64 and arm64 share them); only used on Linux.
    private const int OWronly = 0x1;
    private const int OCreat = 0x40;
    private const int ONonblock = 0x800;
    private const int OAppend = 0x400;
    private const int ONofollow = 0x20000;
    private const int OCloexec = 0x80000;
    private const int EIntr = 4;
    private const int Enxio = 6;
    private const int Eisdir = 21;
    private const int Eloop = 40;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const int StatxSize = 256;
    private const int StatxModeOffset = 28;
    private const int FileTypeMask = 0xF000;

    private const string Reason = "the job reads only a regular file there";

    /// <summary>Appends <paramref name="bytes"/> to <paramref name="path"/> (created if missing) in one write.</summary>
    /// <exception cref="NotARegularFileException">The path is a symbolic link, FIFO, directory, device or socket; nothing was written.</exception>
    /// <exception cref="IOException">The file cannot be opened or the write failed or was short.</exception>
    public static void Write(string path, byte[] bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            WritePortable(path, bytes);
            return;
        }

        int fd;
        do
        {
            fd = NativeMethods.Open(path, OWronly | OCreat | OAppend | OCloexec | ONofollow | ONonblock, Convert.ToInt32("666", 8));
        }
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                Eloop => new NotARegularFileException($"refused: {path} is a symbolic link; {Reason}"),
                Enxio => new NotARegularFileException($"refused: {path} is not a regular file (a FIFO or socket with no reader); {Reason}"),
                Eisdir => new NotARegularFileException($"refused: {path} is a directory; {Reason}"),
                _ => new IOException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
            };
        }

        try
        {
            // A FIFO with a reader, or a device, opens fine: what matters is what was opened, not the name.
            var type = FileType(fd, path);
            if (type != UnixFileType.Regular)
            {
                throw new NotARegularFileException($"refused: {path} is not a regular file (a {Describe(type)}); {Reason}");
            }

            nint written;
            do
            {
                written = NativeMethods.Write(fd, bytes, (nuint)bytes.Length);
            }
            while (written < 0 && Marshal.GetLastPInvokeError() == EIntr);

            if (written < 0)
            {
                throw new IOException($"cannot append to {path}: {Marshal.GetLastPInvokeErrorMessage()}");
            }

            if (written != bytes.Length)
            {
                // A second write would no longer be atomic; say so instead of pretending.
                throw new IOException($"short append to {path}: {written} of {bytes.Length} bytes written (file system full?)");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    /// <summary>Elsewhere (a developer's laptop) a single buffered write is the best the runtime offers.</summary>
    private static void WritePortable(string path, byte[] bytes)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            throw new NotARegularFileException($"refused: {path} is a symbolic link; {Reason}");
        }

        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1);
        stream.Write(bytes);
    }

    /// <summary>The type of the file open on <paramref name="fd"/>, from <c>statx</c> (whose layout is the same on every architecture, unlike <c>struct stat</c>).</summary>
    private static UnixFileType FileType(int fd, string path)
    {
        var buffer = new byte[StatxSize];
        if (NativeMethods.Statx(fd, string.Empty, AtEmptyPath, StatxType, buffer) != 0)
        {
            throw new IOException($"cannot check what {path} is: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        return (UnixFileType)(BitConverter.ToUInt16(buffer, StatxModeOffset) & FileTypeMask);
    }

    private static string Describe(UnixFileType type) => type switch
    {
        UnixFileType.Fifo => "FIFO",
        UnixFileType.CharacterDevice => "character device",
        UnixFileType.BlockDevice => "block device",
        UnixFileType.Socket => "socket",
        UnixFileType.Directory => "directory",
        _ => "file of type 0x" + ((int)type).ToString("x", System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The file type bits of <c>st_mode</c>.</summary>
    private enum UnixFileType
    {
        Fifo = 0x1000,
        CharacterDevice = 0x2000,
        Directory = 0x4000,
        BlockDevice = 0x6000,
        Regular = 0x8000,
        Socket = 0xC000,
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern nint Write(int fd, byte[] buffer, nuint count);

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Close(int fd);
    }
}
