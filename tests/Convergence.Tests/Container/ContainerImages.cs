using System.Diagnostics;
using System.Runtime.Versioning;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;
using Convergence.Tests.Jobscripts;

namespace Convergence.Tests.Container;

/// <summary>
/// The images the container tests run, built once per test run by the real builder
/// (<c>jobscripts/build-image.sh --rootfs</c>, the recipe applied without Apptainer): the MPICH image as a
/// folder and as SquashFS, and the Open MPI image (from the MPICH image's published solver, so the solver
/// is published once). The debootstrapped base is reused from the builder's cache while it is valid, so
/// a run costs the package installs, not the debootstrap.
/// </summary>
/// <remarks>
/// Built here rather than by tests/run-all.sh so that the tests never run an image of an older checkout
/// and run alone too (<c>dotnet test --filter Container</c>). Needs root, ch-run, debootstrap, mksquashfs
/// and squashfuse (<c>install-host-prerequisites.sh --tests</c>); without them every test of the
/// collection fails with one line saying what is missing. Tests of the collection run one at a time.
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class ContainerImages : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(12);
    private readonly string _folder;
    private readonly Lazy<string> _mpich;
    private readonly Lazy<string> _openMpi;
    private readonly List<string> _buildLog = [];

    /// <summary>Checks the prerequisites; the images are built when a test first asks for one.</summary>
    public ContainerImages()
    {
        var missing = new[] { "ch-run", "debootstrap", "mksquashfs", "squashfuse", "setpriv", "mpirun.mpich", "mpirun.openmpi" }
            .Where(tool => !OnPath(tool))
            .ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"container tests need {string.Join(", ", missing)} on PATH: run jobscripts/install-host-prerequisites.sh --tests (as tests/run-all.sh does)");
        }

        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException($"container tests build images with debootstrap and chroot and run them as root and as nobody: run them as root (they run as '{Environment.UserName}')");
        }

        _folder = Repo.NewTempFolder("images");
        _mpich = new(() => Build("mpich", ["--squashfs", Path.Combine(_folder, "mpich.sqfs")]));
        _openMpi = new(() => Build("openmpi", ["--app", Path.Combine(Image(MpiFamily.MpichAbi, ImageFormat.Directory), "opt", "convergence", "app")]));
    }

    /// <summary>How long each build took, for the tests' messages.</summary>
    public string BuildTimes => string.Join("; ", _buildLog);

    /// <summary>The image with <paramref name="mpi"/> inside, in <paramref name="format"/> (SquashFS: MPICH only).</summary>
    public string Image(MpiFamily mpi, ImageFormat format = ImageFormat.Directory)
    {
        if (mpi == MpiFamily.OpenMpi)
        {
            Assert.Equal(ImageFormat.Directory, format);
            return _openMpi.Value;
        }

        var folder = _mpich.Value;
        return format == ImageFormat.SquashFs ? Path.Combine(_folder, "mpich.sqfs") : folder;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // (the root file systems hold no mounts once built; the builder unmounts before it finishes)
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));

    private string Build(string mpi, string[] extra)
    {
        var rootfs = Path.Combine(_folder, mpi);
        var clock = Stopwatch.StartNew();
        var env = new Dictionary<string, string?>
        {
            ["CONVERGENCE_IMAGE_CACHE"] = Environment.GetEnvironmentVariable("CONVERGENCE_IMAGE_CACHE"),
        };
        using var build = RunningProcess.Start(Path.Combine(Scripts.Folder, "build-image.sh"), ["--rootfs", rootfs, "--mpi", mpi, .. extra], env);
        var code = build.WaitForExit(BuildTimeout);
        if (code != 0)
        {
            throw new InvalidOperationException($"build-image.sh --rootfs {rootfs} --mpi {mpi} failed with exit code {code}\n{build.Output}");
        }

        _buildLog.Add($"{mpi} image built in {clock.Elapsed.TotalSeconds:0} s");
        return rootfs;
    }
}
