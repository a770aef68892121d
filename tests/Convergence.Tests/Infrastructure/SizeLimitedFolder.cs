using System.Diagnostics;

namespace Convergence.Tests.Infrastructure;

/// <summary>
/// A small tmpfs mounted on a fresh folder, for tests of a full disk (needs root, as CI and the project's
/// machines run the tests). Unmounted on dispose.
/// </summary>
public sealed class SizeLimitedFolder : IDisposable
{
    /// <summary>Mounts a tmpfs of <paramref name="kibibytes"/> KiB on a new folder.</summary>
    public SizeLimitedFolder(string label, int kibibytes)
    {
        Path = Repo.NewTempFolder(label);
        Run("mount", "-t", "tmpfs", "-o", $"size={kibibytes}k,mode=0755", "tmpfs", Path);
    }

    /// <summary>The mounted folder.</summary>
    public string Path { get; }

    /// <summary>Fills what space is left with one file, until the file system says it is full.</summary>
    public void Fill()
    {
        var block = new byte[4096];
        using var filler = new FileStream(System.IO.Path.Combine(Path, ".filler"), FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true)
            {
                filler.Write(block);
            }
        }
        catch (IOException)
        {
            // Full: what the test wants.
        }
    }

    /// <inheritdoc />
    public void Dispose() => Run("umount", "-l", Path);

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { UseShellExecute = false, RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {error.Trim()} (the full-disk tests mount a tmpfs and need root)");
        }
    }
}
