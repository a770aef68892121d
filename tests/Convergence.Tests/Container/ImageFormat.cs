namespace Convergence.Tests.Container;

/// <summary>The two image forms <c>ch-run</c> runs.</summary>
public enum ImageFormat
{
    /// <summary>The root file system folder <c>build-image.sh --rootfs</c> writes.</summary>
    Directory,

    /// <summary>The same folder as one SquashFS file (<c>--squashfs</c>), mounted by <c>ch-run</c> through squashfuse.</summary>
    SquashFs,
}
