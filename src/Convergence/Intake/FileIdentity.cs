namespace Convergence.Intake;

/// <summary>Which file a path or handle refers to: device and inode number.</summary>
/// <param name="Device">The device (major &lt;&lt; 32 | minor).</param>
/// <param name="Inode">The inode number on that device.</param>
internal readonly record struct FileIdentity(ulong Device, ulong Inode);
