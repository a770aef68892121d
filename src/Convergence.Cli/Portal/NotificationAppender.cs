using System.Runtime.InteropServices;
using System.Text;

namespace Convergence.Cli.Portal;

/// <summary>
/// Appends one message plus <c>\n</c> to a notifications file the way the SemWES service does: one
/// append, creating the file if it is missing (the job may have deleted or renamed it).
/// </summary>
/// <remarks>
/// On Linux the file is opened with <c>O_APPEND</c> and written with one <c>write</c>, so the kernel puts
/// the whole message at the current end even if another process appends at the same moment. .NET's
/// <see cref="FileMode.Append"/> only seeks to the end once, which two writers can interleave. Thread-safe.
/// </remarks>
internal static class NotificationAppender
{
    private const int OWriteOnly = 0x1;
    private const int OCreate = 0x40;
    private const int OAppend = 0x400;
    private const int OCloseOnExec = 0x80000;
    private const int CreateMode = 0x1B6; // 0666, narrowed by the umask like any created file
    private const int Interrupted = 4; // EINTR

    /// <summary>Appends <paramref name="message"/> and a <c>\n</c> to <paramref name="path"/> in one write.</summary>
    /// <exception cref="IOException">The file cannot be opened or written; the message names it.</exception>
    public static void Append(string path, ReadOnlySpan<byte> message)
    {
        var line = new byte[message.Length + 1];
        message.CopyTo(line);
        line[^1] = (byte)'\n';
        if (OperatingSystem.IsLinux())
        {
            AppendWithOAppend(path, line);
        }
        else
        {
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);
            stream.Write(line);
        }
    }

    private static void AppendWithOAppend(string path, byte[] line)
    {
        var nativePath = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        int error;
        do
        {
            fd = Open(nativePath, OWriteOnly | OCreate | OAppend | OCloseOnExec, CreateMode);
            error = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (fd < 0 && error == Interrupted);

        if (fd < 0)
        {
            throw new IOException($"cannot open {path} for appending: {Marshal.GetPInvokeErrorMessage(error)}");
        }

        try
        {
            nint written;
            do
            {
                written = Write(fd, line, line.Length);
                error = written < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            while (written < 0 && error == Interrupted);

            if (written < 0)
            {
                throw new IOException($"cannot append to {path}: {Marshal.GetPInvokeErrorMessage(error)}");
            }

            if (written != line.Length)
            {
                // A regular file takes the whole write unless the disk is full; never write the rest
                // separately, as another writer's line could land in between.
                throw new IOException($"only {written} of {line.Length} bytes could be appended to {path} (disk full?)");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(byte[] path, int flags, int mode);

    [DllImport("libc", EntryPoint = "write", SetLastError = true)]
    private static extern nint Write(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
