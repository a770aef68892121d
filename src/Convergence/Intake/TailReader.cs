using Microsoft.Win32.SafeHandles;

namespace Convergence.Intake;

/// <summary>
/// How the tail reads the files it holds open. The product reads directly (<see cref="ReadErrors.Direct"/>); tests put a
/// layer in between that fails reads the way a sick disk or NFS does (EIO, ESTALE, EINTR).
/// </summary>
internal interface ITailReader
{
    /// <summary>Reads up to <paramref name="buffer"/>'s length at <paramref name="offset"/>; 0 at the end of the file.</summary>
    /// <exception cref="IOException">The read failed; <see cref="Exception.HResult"/> carries the errno.</exception>
    int Read(SafeFileHandle handle, Span<byte> buffer, long offset);
}

/// <summary>The errors a read can end in, as the tail tells them apart.</summary>
internal static class ReadErrors
{
    /// <summary>errno EINTR: a signal arrived; the same read is simply tried again.</summary>
    public const int Interrupted = 4;

    /// <summary>errno EIO: the device failed; the read may work later.</summary>
    public const int InputOutput = 5;

    /// <summary>errno ESTALE: the file was deleted or replaced on the NFS server; this descriptor will never read again.</summary>
    public const int Stale = 116;

    /// <summary>The reader that reads the file.</summary>
    public static ITailReader Direct { get; } = new DirectReader();

    /// <summary>True when <paramref name="ex"/> is a file-system failure the tail survives (logs, retries or gives the file up).</summary>
    public static bool IsFileError(Exception ex) => ex is IOException or UnauthorizedAccessException;

    /// <summary>True when the descriptor behind <paramref name="ex"/> is dead for good (ESTALE).</summary>
    public static bool IsStale(Exception ex) => ex is IOException { HResult: Stale };

    /// <summary>Reads, trying again at once after EINTR (a few times: a signal storm must not become a busy loop).</summary>
    public static int ReadRetryingInterrupts(this ITailReader reader, SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return reader.Read(handle, buffer, offset);
            }
            catch (IOException ex) when (ex.HResult == Interrupted && attempt < 8)
            {
                // Interrupted before anything was read: the same read again.
            }
        }
    }

    private sealed class DirectReader : ITailReader
    {
        public int Read(SafeFileHandle handle, Span<byte> buffer, long offset) => RandomAccess.Read(handle, buffer, offset);
    }
}
