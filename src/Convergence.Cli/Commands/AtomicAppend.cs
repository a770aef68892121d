using System.Runtime.InteropServices;

namespace Convergence.Cli.Commands;

/// <summary>
/// Appends bytes to a file with one <c>write(2)</c> on a descriptor opened with <c>O_APPEND</c>, the way
/// the SemWES service appends a message: the kernel moves to the end and writes in one step, so
/// concurrent appenders never overwrite each other and a reader never sees our bytes interleaved.
/// </summary>
/// <remarks>
/// .NET's <see cref="FileMode.Append"/> seeks to the end once and then writes at that offset
/// (<c>pwrite</c>), which loses data when another process appends in between; hence libc directly.
/// </remarks>
internal static class AtomicAppend
{
    // Linux values (x86-64 and arm64 share them); only used on Linux.
    private const int OWronly = 0x1;
    private const int OCreat = 0x40;
    private const int OAppend = 0x400;
    private const int OCloexec = 0x80000;
    private const int EIntr = 4;

    /// <summary>Appends <paramref name="bytes"/> to <paramref name="path"/> (created if missing) in one write.</summary>
    /// <exception cref="IOException">The file cannot be opened or the write failed or was short.</exception>
    public static void Write(string path, byte[] bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Elsewhere (a developer's laptop) a single buffered write is the best the runtime offers.
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1);
            stream.Write(bytes);
            return;
        }

        int fd;
        do
        {
            fd = NativeMethods.Open(path, OWronly | OCreat | OAppend | OCloexec, Convert.ToInt32("666", 8));
        }
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);

        if (fd < 0)
        {
            throw new IOException($"cannot open {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        try
        {
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

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern nint Write(int fd, byte[] buffer, nuint count);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Close(int fd);
    }
}
