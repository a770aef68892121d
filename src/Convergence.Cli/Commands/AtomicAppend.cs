using System.Runtime.InteropServices;
using Convergence.FileSystem;
using Microsoft.Win32.SafeHandles;

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
/// The service folder may be writable by others: the file is opened by <see cref="ServiceFile.Open"/>, which
/// never follows a symbolic link, never blocks on a FIFO and refuses anything but a regular file.
/// </para>
/// </remarks>
internal static class AtomicAppend
{
    // Linux values (x86-64 and arm64 share them); only used on Linux.
    private const int OWronly = 0x1;
    private const int OCreat = 0x40;
    private const int OAppend = 0x400;
    private const int EIntr = 4;

    private const string Who = "the job reads";

    /// <summary>Appends <paramref name="bytes"/> to <paramref name="path"/> (created if missing) in one write.</summary>
    /// <exception cref="NotARegularFileException">The path is a symbolic link, FIFO, directory, device or socket; nothing was written.</exception>
    /// <exception cref="IOException">The file cannot be opened or the write failed or was short.</exception>
    public static void Write(string path, byte[] bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Elsewhere (a developer's laptop) a single buffered write is the best the runtime offers.
            ServiceFile.RefuseLinkPortably(path, Who);
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1);
            stream.Write(bytes);
            return;
        }

        using var handle = ServiceFile.Open(path, OWronly | OCreat | OAppend, Who);
        nint written;
        do
        {
            written = NativeMethods.Write(handle, bytes, (nuint)bytes.Length);
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

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern nint Write(SafeFileHandle fd, byte[] buffer, nuint count);
    }
}
