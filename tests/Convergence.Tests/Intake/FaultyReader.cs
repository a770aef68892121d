using System.Runtime.InteropServices;
using Convergence.Intake;
using Microsoft.Win32.SafeHandles;

namespace Convergence.Tests.Intake;

/// <summary>
/// Reads like the tail's own reader, but fails on demand the way a sick disk or NFS does: every read of a file
/// marked unreadable fails with EIO (what a mode-000 file cannot do for root), and with <see cref="Probability"/>
/// any read fails with EINTR, EIO or ESTALE. Seeded: the same seed injects the same faults.
/// </summary>
internal sealed class FaultyReader(int seed) : ITailReader
{
    private readonly Random _random = new(seed);
    private readonly HashSet<ulong> _unreadable = [];
    private long _injected;

    /// <summary>The chance that a read fails (0: none).</summary>
    public double Probability { get; set; }

    /// <summary>Faults injected so far.</summary>
    public long Injected => Interlocked.Read(ref _injected);

    /// <summary>When set, every read waits for it (a hung NFS server).</summary>
    public ManualResetEventSlim? Hang { get; set; }

    /// <summary>Every read of the file behind <paramref name="inode"/> fails from now on.</summary>
    public void MakeUnreadable(ulong inode) => _unreadable.Add(inode);

    public void Heal()
    {
        _unreadable.Clear();
        Probability = 0;
    }

    public int Read(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        Hang?.Wait();
        if (_unreadable.Count > 0 && _unreadable.Contains(UnixFileStatus.Stat(handle).Identity.Inode))
        {
            Interlocked.Increment(ref _injected);
            throw new IOException("Input/output error (injected: unreadable file)", ReadErrors.InputOutput);
        }

        if (Probability > 0 && _random.NextDouble() < Probability)
        {
            Interlocked.Increment(ref _injected);
            var errno = _random.Next(3) switch
            {
                0 => ReadErrors.Interrupted,
                1 => ReadErrors.InputOutput,
                _ => ReadErrors.Stale,
            };
            throw new IOException($"injected errno {errno}", errno);
        }

        return RandomAccess.Read(handle, buffer, offset);
    }
}

/// <summary>File-system calls .NET has no API for, and the descriptor count of this process.</summary>
internal static partial class Posix
{
    /// <summary>Creates a FIFO at <paramref name="path"/>.</summary>
    public static void MakeFifo(string path)
    {
        if (MkFifo(path, 0b110_100_100) != 0)
        {
            throw new IOException($"mkfifo {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Descriptors of this process that name something under <paramref name="folder"/>.</summary>
    public static int OpenDescriptorsUnder(string folder)
    {
        var count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(folder, StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed while listed.
            }
        }

        return count;
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, uint mode);
}
