namespace Convergence.Intake;

/// <summary>What one <c>statx</c> call tells the tail about a file.</summary>
/// <param name="Identity">Device and inode; <see langword="default"/> when the platform cannot tell.</param>
/// <param name="Size">Length in bytes.</param>
/// <param name="IsRegularFile">False for directories, FIFOs, devices (which the tail must not open or read).</param>
/// <param name="LastWriteUtc">The modification time.</param>
internal readonly record struct FileStatus(FileIdentity Identity, long Size, bool IsRegularFile, DateTime LastWriteUtc);
