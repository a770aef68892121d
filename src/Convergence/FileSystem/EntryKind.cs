namespace Convergence.FileSystem;

/// <summary>What a folder entry is, looked at without following a link.</summary>
internal enum EntryKind
{
    /// <summary>Nothing by that name.</summary>
    None,

    /// <summary>A regular file.</summary>
    File,

    /// <summary>A folder.</summary>
    Folder,

    /// <summary>A symbolic link (whatever it points to).</summary>
    Link,

    /// <summary>A FIFO, socket or device.</summary>
    Other,
}
