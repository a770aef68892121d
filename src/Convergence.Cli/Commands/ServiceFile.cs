using System.Runtime.InteropServices;
using System.Text;
using Convergence.FileSystem;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Cli.Commands;

/// <summary>
/// Opens files in a service folder, which other users or processes may be able to write, without
/// following a symbolic link and without blocking on a FIFO.
/// </summary>
/// <remarks>
/// The path is opened with <c>O_NOFOLLOW</c> (a planted link is never followed to a file of the user's,
/// nor used to create one) and <c>O_NONBLOCK</c> (a FIFO fails or opens at once instead of waiting for its
/// other end), and what was opened is checked with <c>statx</c> on the descriptor: checking the path first
/// and opening it afterwards would leave a window in which it can be swapped. Anything but a regular
/// file is refused with <see cref="NotARegularFileException"/>. Linux only; elsewhere a link is refused by
/// looking at the path, and FIFOs are not guarded against.
/// </remarks>
internal static class ServiceFile
{
    /// <summary>A status file larger than this is not one the job wrote; refused rather than read into memory.</summary>
    internal const int MaxReadBytes = 64 << 20;

    // Linux values (x86-64 and arm64 share them); only used on Linux.
    private const int ORdonly = 0x0;
    private const int ONonblock = 0x800;
    private const int ONofollow = 0x20000;
    private const int OCloexec = 0x80000;
    private const int EIntr = 4;
    private const int Enoent = 2;
    private const int Enxio = 6;
    private const int Eisdir = 21;
    private const int Eloop = 40;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const int StatxSize = 256;
    private const int StatxModeOffset = 28;
    private const int FileTypeMask = 0xF000;

    /// <summary>
    /// Opens <paramref name="path"/> with <paramref name="flags"/> (<c>O_WRONLY | O_APPEND | O_CREAT</c> and the
    /// like) plus <c>O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC</c>, and returns the descriptor of a regular file.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="flags">The access flags.</param>
    /// <param name="who">Who reads or writes a regular file there, for the refusal ("the job reads").</param>
    /// <exception cref="NotARegularFileException">A link, FIFO, socket, device or directory is at the path.</exception>
    /// <exception cref="FileNotFoundException">Nothing is at the path (and <c>O_CREAT</c> was not given).</exception>
    /// <exception cref="IOException">Any other failure.</exception>
    public static SafeFileHandle Open(string path, int flags, string who)
    {
        int fd;
        do
        {
            fd = NativeMethods.Open(path, flags | ONofollow | ONonblock | OCloexec, Convert.ToInt32("666", 8));
        }
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                Eloop => new NotARegularFileException($"refused: {path} is a symbolic link; {who} only a regular file there"),
                Enxio => new NotARegularFileException($"refused: {path} is not a regular file (a FIFO or socket with no reader); {who} only a regular file there"),
                Eisdir => new NotARegularFileException($"refused: {path} is a directory; {who} only a regular file there"),
                Enoent => new FileNotFoundException($"{path} does not exist", path),
                _ => new IOException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            // A FIFO with a writer or reader, or a device, opens fine: what matters is what was opened.
            var type = FileType(handle, path);
            return type == UnixFileType.Regular
                ? handle
                : throw new NotARegularFileException($"refused: {path} is not a regular file (a {Describe(type)}); {who} only a regular file there");
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The whole of the regular file at <paramref name="path"/> as UTF-8 text; null when nothing is there.</summary>
    /// <exception cref="NotARegularFileException">A link, FIFO, socket, device or directory is at the path.</exception>
    /// <exception cref="IOException">It cannot be read, or is larger than <see cref="MaxReadBytes"/>.</exception>
    public static async Task<string?> ReadAllTextAsync(string path, string who, CancellationToken cancel = default)
    {
        if (!OperatingSystem.IsLinux())
        {
            RefuseLinkPortably(path, who);
            return File.Exists(path) ? await File.ReadAllTextAsync(path, Encoding.UTF8, cancel).ConfigureAwait(false) : null;
        }

        using var handle = OpenIfExists(path, ORdonly, who);
        if (handle is null)
        {
            return null;
        }

        var length = RandomAccess.GetLength(handle);
        if (length > MaxReadBytes)
        {
            throw new IOException($"{path} holds {length} bytes, more than the {MaxReadBytes >> 20} MiB a status file can be; not read");
        }

        using var stream = new FileStream(handle, FileAccess.Read, 1);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(cancel).ConfigureAwait(false);
    }

    /// <summary>As <see cref="Open"/>, but null when nothing is at the path.</summary>
    private static SafeFileHandle? OpenIfExists(string path, int flags, string who)
    {
        try
        {
            return Open(path, flags, who);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Off Linux: a link is refused by looking at the path (with the window that leaves).</summary>
    internal static void RefuseLinkPortably(string path, string who)
    {
        if (new FileInfo(path).LinkTarget is not null)
        {
            throw new NotARegularFileException($"refused: {path} is a symbolic link; {who} only a regular file there");
        }
    }

    /// <summary>The type of the open file, from <c>statx</c> (whose layout is the same on every architecture, unlike <c>struct stat</c>).</summary>
    private static UnixFileType FileType(SafeFileHandle handle, string path)
    {
        var buffer = new byte[StatxSize];
        if (NativeMethods.Statx(handle, string.Empty, AtEmptyPath, StatxType, buffer) != 0)
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

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(SafeFileHandle dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
    }
}
