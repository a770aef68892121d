using Microsoft.Win32.SafeHandles;

namespace Convergence.Intake;

/// <summary>One notifications file the tail holds open: the handle, how far it has been read, its unfinished line.</summary>
internal sealed class TailSource(SafeFileHandle handle, FileIdentity identity, int maxLineBytes, Func<bool>? wantPreview = null) : IDisposable
{
    /// <summary>The open handle; reads go through it even after the path points elsewhere.</summary>
    public SafeFileHandle Handle { get; } = handle;

    /// <summary>Which file this is.</summary>
    public FileIdentity Identity { get; } = identity;

    /// <summary>Bytes consumed so far.</summary>
    public long Offset { get; set; }

    /// <summary>Where the last complete line consumed ends (0 before the first): what a replacement must begin with to continue it.</summary>
    public long LineEnd { get; set; }

    /// <summary>
    /// The file this one replaced, while it is still open and this one has not been read yet: if this file begins
    /// with exactly what was consumed from it, reading continues after that instead of at 0.
    /// </summary>
    public TailSource? Predecessor { get; set; }

    /// <summary>The unfinished line of this file.</summary>
    public LineAssembler Lines { get; } = new(maxLineBytes, wantPreview);

    /// <summary>When the path stopped pointing at this file (<see cref="System.Diagnostics.Stopwatch"/> ticks); 0 while current.</summary>
    public long RetiredAt { get; set; }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();
}
