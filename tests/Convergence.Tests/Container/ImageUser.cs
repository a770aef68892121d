namespace Convergence.Tests.Container;

/// <summary>Who runs the container: root, or an unprivileged user (<c>nobody</c>, through <c>setpriv</c>).</summary>
public enum ImageUser
{
    /// <summary>The test process's own user (root in CI).</summary>
    Root,

    /// <summary>uid/gid 65534 (<c>nobody</c>): the runtime builds its user namespace without privileges.</summary>
    Unprivileged,
}
