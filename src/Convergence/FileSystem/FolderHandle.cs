using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Convergence.FileSystem;

/// <summary>
/// An open folder whose entries are created, opened, renamed and removed relative to its descriptor
/// (<c>openat</c>, <c>unlinkat</c>, <c>renameat</c>), never following a symbolic link in the last step. For
/// folders that others may write (the service folder, the checkpoint folder, the failure hand-over folder):
/// a link planted there, or a folder swapped for one between a check and a use, can neither redirect a
/// write nor make a removal reach files outside the folder.
/// </summary>
/// <remarks>
/// Linux only in full; elsewhere (a developer's laptop) the same calls fall back to the runtime's path-based
/// operations, which follow links. An entry that is not what is expected (a link, a FIFO, a folder where a
/// file belongs) is refused with <see cref="IOException"/> naming it, never opened: files are opened with
/// <c>O_NOFOLLOW | O_NONBLOCK</c> and checked with <c>fstat</c> on the descriptor, so a FIFO cannot block the
/// caller either. The folder itself is opened without following a link unless the caller allows it (the
/// user's own <c>--checkpoint-dir</c> may be a link to a parallel file system).
/// Thread-safety: an instance may be used from one thread at a time.
/// </remarks>
internal sealed partial class FolderHandle : IDisposable
{
    private const int AtFdCwd = -100;
    private const int AtRemoveDir = 0x200;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const int ORdOnly = 0x0;
    private const int OWrOnly = 0x1;
    private const int OCreat = 0x40;
    private const int OExcl = 0x80;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int Eintr = 4;
    private const int Enoent = 2;
    private const int Eexist = 17;
    private const int Enotdir = 20;
    private const int Eisdir = 21;
    private const int Eloop = 40;
    private const int Enxio = 6;
    private const int Einval = 22;
    private const ushort TypeMask = 0xF000;
    private const ushort TypeRegular = 0x8000;
    private const ushort TypeDirectory = 0x4000;
    private const ushort TypeLink = 0xA000;

    // O_DIRECTORY and O_NOFOLLOW are the two flags whose values differ between x86-64 and arm64.
    private static readonly bool Arm = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;
    private static readonly int ODirectory = Arm ? 0x4000 : 0x10000;
    private static readonly int ONoFollow = Arm ? 0x8000 : 0x20000;

    private readonly SafeFileHandle? _fd;

    private FolderHandle(string path, SafeFileHandle? fd)
    {
        Path = path;
        _fd = fd;
    }

    /// <summary>The folder's path as it was opened (for messages; operations use the descriptor).</summary>
    public string Path { get; }

    /// <summary>True where the descriptor-relative calls are used (Linux).</summary>
    public static bool LinkSafe => OperatingSystem.IsLinux();

    /// <summary>Opens the folder at <paramref name="path"/>, creating it (and its parents) when <paramref name="create"/>.</summary>
    /// <param name="path">The folder.</param>
    /// <param name="create">Create it when missing.</param>
    /// <param name="followLink">Allow <paramref name="path"/> itself to be a link to a folder.</param>
    /// <exception cref="IOException">Missing (without <paramref name="create"/>), not a folder, or a link when not allowed.</exception>
    public static FolderHandle Open(string path, bool create = false, bool followLink = false)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (create)
        {
            var parent = System.IO.Path.GetDirectoryName(full);
            if (parent is not null)
            {
                Directory.CreateDirectory(parent);
            }

            if (LinkSafe)
            {
                var rc = Retry(() => MakeDirectoryAt(AtFdCwd, full, Convert.ToInt32("755", 8)));
                if (rc != 0 && Marshal.GetLastPInvokeError() is var errno && errno != Eexist)
                {
                    throw Error("cannot create folder", full, errno);
                }
            }
            else
            {
                Directory.CreateDirectory(full);
            }
        }

        if (!LinkSafe)
        {
            return Directory.Exists(full) ? new FolderHandle(full, null) : throw new DirectoryNotFoundException($"folder {full} does not exist");
        }

        var fd = Retry(() => OpenAt(AtFdCwd, full, ORdOnly | ODirectory | OCloExec | (followLink ? 0 : ONoFollow), 0));
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw !followLink && errno is Enotdir or Eloop && LinkAt(full) ? Error("cannot open folder", full, Eloop) : Error("cannot open folder", full, errno);
        }

        return new FolderHandle(full, new SafeFileHandle(fd, ownsHandle: true));
    }

    /// <summary>Like <see cref="Open"/> without creating, but null when the folder does not exist.</summary>
    /// <exception cref="IOException">It exists but is not a folder, or is a link when not allowed.</exception>
    public static FolderHandle? TryOpen(string path, bool followLink = false)
    {
        try
        {
            return Open(path, create: false, followLink);
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Opens (and with <paramref name="create"/> makes) the sub-folder <paramref name="name"/>; a link there is refused.</summary>
    /// <exception cref="IOException">Missing without <paramref name="create"/>, not a folder, or a link.</exception>
    public FolderHandle OpenFolder(string name, bool create)
    {
        CheckName(name);
        var full = Child(name);
        if (_fd is null)
        {
            if (create)
            {
                Directory.CreateDirectory(full);
            }

            return Directory.Exists(full) ? new FolderHandle(full, null) : throw new DirectoryNotFoundException($"folder {full} does not exist");
        }

        if (create)
        {
            var rc = WithFd(fd => Retry(() => MakeDirectoryAt(fd, name, Convert.ToInt32("755", 8))));
            if (rc != 0 && Marshal.GetLastPInvokeError() is var errno && errno != Eexist)
            {
                throw Error("cannot create folder", full, errno);
            }
        }

        var sub = WithFd(fd => Retry(() => OpenAt(fd, name, ORdOnly | ODirectory | ONoFollow | OCloExec, 0)));
        if (sub < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno is Enotdir or Eloop && KindOf(name) == EntryKind.Link ? Error("cannot open folder", full, Eloop) : Error("cannot open folder", full, errno);
        }

        return new FolderHandle(full, new SafeFileHandle(sub, ownsHandle: true));
    }

    /// <summary>Like <see cref="OpenFolder"/> without creating, but null when there is no such entry.</summary>
    public FolderHandle? TryOpenFolder(string name)
    {
        try
        {
            return OpenFolder(name, create: false);
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Opens the regular file <paramref name="name"/> for reading.</summary>
    /// <exception cref="FileNotFoundException">There is no such entry.</exception>
    /// <exception cref="IOException">It is not a regular file (a link, a FIFO, a folder…) or cannot be opened.</exception>
    public SafeFileHandle OpenRead(string name) => OpenFile(name, ORdOnly, FileMode.Open, FileAccess.Read);

    /// <summary>
    /// Opens the regular file <paramref name="name"/> for writing, creating it when missing (mode 0644 before
    /// the umask), without truncating it. Whatever else is at that name in this folder (a link, a FIFO, a
    /// folder) is removed first and a new file created: only the link is removed, never what it points to.
    /// </summary>
    public SafeFileHandle OpenOrCreateForWrite(string name)
    {
        try
        {
            return OpenFile(name, OWrOnly | OCreat, FileMode.OpenOrCreate, FileAccess.Write);
        }
        catch (NotARegularFileException)
        {
            Delete(name);
            return OpenFile(name, OWrOnly | OCreat | OExcl, FileMode.CreateNew, FileAccess.Write);
        }
    }

    /// <summary>Creates <paramref name="name"/>, which must not exist (<c>O_EXCL</c>: never through a link).</summary>
    public SafeFileHandle CreateNew(string name) => OpenFile(name, OWrOnly | OCreat | OExcl, FileMode.CreateNew, FileAccess.Write);

    /// <summary>
    /// Replaces <paramref name="name"/> with <paramref name="content"/> atomically: a new temporary file
    /// (<c>O_EXCL</c>, a random name), then a rename over the entry, which replaces a link rather than writing
    /// through it. With <paramref name="durable"/> the data and then the folder are flushed.
    /// </summary>
    /// <exception cref="IOException">The write or the rename failed (the temporary file is removed).</exception>
    public void WriteAtomically(string name, ReadOnlySpan<byte> content, bool durable = false)
    {
        CheckName(name);
        var temporary = string.Create(CultureInfo.InvariantCulture, $".{name}.{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))}.tmp");
        try
        {
            using (var stream = new FileStream(CreateNew(temporary), FileAccess.Write, 1))
            {
                stream.Write(content);
                stream.Flush(durable);
            }

            Rename(temporary, this, name);
        }
        catch
        {
            try
            {
                Delete(temporary);
            }
            catch (IOException)
            {
                // The temporary name is hidden and random: harmless if it stays.
            }

            throw;
        }

        if (durable)
        {
            Flush();
        }
    }

    /// <summary>Reads the regular file <paramref name="name"/> as UTF-8, never through a link or from a FIFO.</summary>
    /// <exception cref="FileNotFoundException">There is no such entry.</exception>
    /// <exception cref="IOException">It is not a regular file or cannot be read.</exception>
    public string ReadAllText(string name)
    {
        using var stream = new FileStream(OpenRead(name), FileAccess.Read, 1);
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>What is at <paramref name="name"/>, without following a link.</summary>
    public EntryKind KindOf(string name)
    {
        CheckName(name);
        if (_fd is null)
        {
            var info = new FileInfo(Child(name));
            return info.LinkTarget is not null ? EntryKind.Link
                : info.Exists ? EntryKind.File
                : Directory.Exists(Child(name)) ? EntryKind.Folder : EntryKind.None;
        }

        return WithFd(fd => StatType(fd, name));
    }

    /// <summary>Every entry's name and kind (not <c>.</c> and <c>..</c>), without following links.</summary>
    public IReadOnlyList<(string Name, EntryKind Kind)> Entries()
    {
        var list = new List<(string, EntryKind)>();
        if (_fd is null)
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(Path))
            {
                var name = System.IO.Path.GetFileName(entry);
                list.Add((name, KindOf(name)));
            }

            return list;
        }

        // The descriptor's own listing: /proc/self/fd/N names the folder we hold open, not whatever the path
        // names now.
        WithFd(fd =>
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(string.Create(CultureInfo.InvariantCulture, $"/proc/self/fd/{fd}")))
            {
                var name = System.IO.Path.GetFileName(entry);
                list.Add((name, StatType(fd, name)));
            }

            return 0;
        });
        return list;
    }

    /// <summary>
    /// Removes the entry <paramref name="name"/>: a file or a link is unlinked (a link's target is untouched),
    /// a folder is emptied the same way and removed. Nothing there is not an error.
    /// </summary>
    /// <exception cref="IOException">The removal failed.</exception>
    public void Delete(string name)
    {
        CheckName(name);
        if (_fd is null)
        {
            var full = Child(name);
            if (Directory.Exists(full) && new DirectoryInfo(full).LinkTarget is null)
            {
                Directory.Delete(full, recursive: true);
            }
            else
            {
                File.Delete(full);
            }

            return;
        }

        var rc = WithFd(fd => Retry(() => UnlinkAt(fd, name, 0)));
        if (rc == 0)
        {
            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == Enoent)
        {
            return;
        }

        if (errno != Eisdir)
        {
            throw Error("cannot remove", Child(name), errno);
        }

        using (var sub = OpenFolder(name, create: false))
        {
            foreach (var (entry, _) in sub.Entries())
            {
                sub.Delete(entry);
            }
        }

        rc = WithFd(fd => Retry(() => UnlinkAt(fd, name, AtRemoveDir)));
        if (rc != 0 && Marshal.GetLastPInvokeError() is var e && e != Enoent)
        {
            throw Error("cannot remove folder", Child(name), e);
        }
    }

    /// <summary>Renames <paramref name="name"/> in this folder to <paramref name="newName"/> in <paramref name="target"/>, replacing what is there (the entry itself: a link moves as a link).</summary>
    /// <exception cref="FileNotFoundException">There is no such entry.</exception>
    /// <exception cref="IOException">The rename failed.</exception>
    public void Rename(string name, FolderHandle target, string newName)
    {
        CheckName(name);
        CheckName(newName);
        if (_fd is null || target._fd is null)
        {
            var from = Child(name);
            if (Directory.Exists(from))
            {
                Directory.Move(from, target.Child(newName));
            }
            else
            {
                File.Move(from, target.Child(newName), overwrite: true);
            }

            return;
        }

        var added = false;
        try
        {
            target._fd.DangerousAddRef(ref added);
            var targetFd = (int)target._fd.DangerousGetHandle();
            var rc = WithFd(fd => Retry(() => RenameAt(fd, name, targetFd, newName)));
            if (rc != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw errno == Enoent
                    ? new FileNotFoundException($"{Child(name)} does not exist", Child(name))
                    : Error("cannot rename", Child(name), errno);
            }
        }
        finally
        {
            if (added)
            {
                target._fd.DangerousRelease();
            }
        }
    }

    /// <summary>Flushes the folder's entries to disk (a rename in it is durable only then).</summary>
    /// <exception cref="IOException">The flush failed.</exception>
    public void Flush()
    {
        if (_fd is null)
        {
            return;
        }

        var rc = WithFd(Fsync);
        // Some file systems refuse fsync on a folder with EINVAL: they flush metadata themselves.
        if (rc != 0 && Marshal.GetLastPInvokeError() is var errno && errno != Einval)
        {
            throw Error("cannot flush folder", Path, errno);
        }
    }

    /// <summary>The path of entry <paramref name="name"/>, for messages.</summary>
    public string Child(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc />
    public void Dispose() => _fd?.Dispose();

    private SafeFileHandle OpenFile(string name, int flags, FileMode mode, FileAccess access)
    {
        CheckName(name);
        var full = Child(name);
        if (_fd is null)
        {
            return File.OpenHandle(full, mode, access, FileShare.ReadWrite);
        }

        var fd = WithFd(dir => Retry(() => OpenAt(dir, name, flags | ONoFollow | ONonBlock | OCloExec, Convert.ToInt32("644", 8))));
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                Enoent => new FileNotFoundException($"{full} does not exist", full),
                Eloop => new NotARegularFileException($"{full} is a symbolic link; refusing to follow it"),
                Eisdir => new NotARegularFileException($"{full} is a folder, not a file"),
                Enxio => new NotARegularFileException($"{full} is a FIFO or socket, not a file"),
                _ => Error("cannot open", full, errno),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        ushort type;
        try
        {
            type = StatType(fd, string.Empty, AtEmptyPath);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        if (type != TypeRegular)
        {
            handle.Dispose();
            throw new NotARegularFileException($"{full} is {Describe(type)}, not a regular file; refusing to use it");
        }

        return handle;
    }

    private static string Describe(ushort type) => type switch
    {
        TypeDirectory => "a folder",
        TypeLink => "a symbolic link",
        0x1000 => "a FIFO",
        0xC000 => "a socket",
        0x2000 or 0x6000 => "a device",
        _ => "something else",
    };

    private EntryKind StatType(int dirfd, string name)
    {
        var type = StatType(dirfd, name, AtSymlinkNoFollow);
        return type switch
        {
            0 => EntryKind.None,
            TypeRegular => EntryKind.File,
            TypeDirectory => EntryKind.Folder,
            TypeLink => EntryKind.Link,
            _ => EntryKind.Other,
        };
    }

    private unsafe ushort StatType(int dirfd, string name, int flags)
    {
        var buffer = stackalloc byte[256];
        var rc = Retry(() => Statx(dirfd, name, flags, StatxType, buffer));
        if (rc != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is Enoent or Enotdir ? (ushort)0 : throw Error("cannot look at", Child(name), errno);
        }

        // stx_mode at offset 28 of struct statx, the same on every architecture.
        return (ushort)(*(ushort*)(buffer + 28) & TypeMask);
    }

    private static unsafe bool LinkAt(string path)
    {
        var buffer = stackalloc byte[256];
        return Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) == 0 && (*(ushort*)(buffer + 28) & TypeMask) == TypeLink;
    }

    private T WithFd<T>(Func<int, T> call)
    {
        var added = false;
        try
        {
            _fd!.DangerousAddRef(ref added);
            return call((int)_fd.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                _fd!.DangerousRelease();
            }
        }
    }

    private static int Retry(Func<int> call)
    {
        int rc;
        do
        {
            rc = call();
        }
        while (rc < 0 && Marshal.GetLastPInvokeError() == Eintr);
        return rc;
    }

    private static void CheckName(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a single entry name", nameof(name));
        }
    }

    private static IOException Error(string what, string path, int errno) => errno switch
    {
        Enoent => new DirectoryNotFoundException($"{what} {path}: it does not exist"),
        Eloop => new NotARegularFileException($"{what} {path}: it is a symbolic link; refusing to follow it"),
        Enotdir => new NotARegularFileException($"{what} {path}: it is not a folder"),
        _ => new IOException($"{what} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})"),
    };

    [LibraryImport("libc", EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenAt(int dirfd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MakeDirectoryAt(int dirfd, string path, int mode);

    [LibraryImport("libc", EntryPoint = "unlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int UnlinkAt(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "renameat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int RenameAt(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
