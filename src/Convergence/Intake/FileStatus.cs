namespace Convergence.Intake;

/// <summary>What one <c>statx</c> call tells the tail about a file.</summary>
/// <param name="Identity">Device and inode; <see langword="default"/> when the platform cannot tell.</param>
/// <param name="Size">Length in bytes.</param>
/// <param name="FileType">The type bits of the mode (<c>S_IFMT</c>): regular file, directory, FIFO, link, ...</param>
/// <param name="LastWriteUtc">The modification time.</param>
internal readonly record struct FileStatus(FileIdentity Identity, long Size, ushort FileType, DateTime LastWriteUtc)
{
    /// <summary>False for directories, FIFOs, links, devices (which the tail must not open or read).</summary>
    public bool IsRegularFile => FileType == 0x8000;

    /// <summary>What kind of file this is, for a log line ("a FIFO").</summary>
    public string Kind => FileType switch
    {
        0x8000 => "a regular file",
        0x4000 => "a directory",
        0x1000 => "a FIFO",
        0xA000 => "a symbolic link",
        0xC000 => "a socket",
        0x2000 => "a character device",
        0x6000 => "a block device",
        _ => "not a regular file",
    };
}
