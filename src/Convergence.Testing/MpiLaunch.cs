using System.Globalization;
using Convergence.Mpi;

namespace Convergence.Testing;

/// <summary>
/// How a test starts ranks with one MPI family's own launcher: <c>mpirun.mpich</c> or <c>mpirun.openmpi</c> by
/// name, never whichever MPI the plain <c>mpirun</c> alternative happens to point to.
/// </summary>
public static class MpiLaunch
{
    /// <summary>The launcher's program name: <c>mpirun.mpich</c> or <c>mpirun.openmpi</c>.</summary>
    /// <param name="family">The MPI family.</param>
    /// <returns>The name, to be found on <c>PATH</c>.</returns>
    public static string LauncherName(MpiFamily family) => family == MpiFamily.OpenMpi ? "mpirun.openmpi" : "mpirun.mpich";

    /// <summary>
    /// The launcher's command line for <paramref name="ranks"/> ranks, before the program to run:
    /// <c>mpirun.mpich -np N</c>, or <c>mpirun.openmpi -np N</c> with <c>--oversubscribe</c> past 2 ranks (Open MPI
    /// refuses more ranks than cores otherwise, and test machines have few).
    /// </summary>
    /// <param name="family">The MPI family.</param>
    /// <param name="ranks">The number of ranks (1 or more).</param>
    /// <returns>The launcher's name and its arguments.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ranks"/> is below 1.</exception>
    public static string[] Command(MpiFamily family, int ranks = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        var np = ranks.ToString(CultureInfo.InvariantCulture);
        return family == MpiFamily.OpenMpi
            ? ranks > 2 ? [LauncherName(family), "--oversubscribe", "-np", np] : [LauncherName(family), "-np", np]
            : [LauncherName(family), "-np", np];
    }

    /// <summary>What the launcher needs in its environment here: Open MPI refuses to run as root unless told twice.</summary>
    /// <param name="family">The MPI family.</param>
    /// <returns>Variables to add to the launcher's environment (none for MPICH, or for Open MPI as another user).</returns>
    public static IReadOnlyDictionary<string, string?> Environment(MpiFamily family) =>
        family == MpiFamily.OpenMpi && System.Environment.UserName == "root"
            ? new Dictionary<string, string?> { ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1" }
            : new Dictionary<string, string?>();

    /// <summary>Where the family's launcher is on <c>PATH</c>.</summary>
    /// <param name="family">The MPI family.</param>
    /// <returns>The launcher's full path, or null when it is not installed (or not on <c>PATH</c>).</returns>
    public static string? FindLauncher(MpiFamily family) => FindLauncher(family, System.Environment.GetEnvironmentVariable("PATH"));

    /// <summary>Where the family's launcher is in the folders of <paramref name="path"/> (a <c>PATH</c> value).</summary>
    internal static string? FindLauncher(MpiFamily family, string? path)
    {
        var name = LauncherName(family);
        foreach (var folder in (path ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The one-line advice for a launcher that is not installed.</summary>
    internal static string NotInstalled(MpiFamily family) => family == MpiFamily.OpenMpi
        ? $"{LauncherName(family)} is not on PATH: install Open MPI (Debian: apt-get install openmpi-bin) to run multi-rank tests under it"
        : $"{LauncherName(family)} is not on PATH: install MPICH (Debian: apt-get install mpich) to run multi-rank tests under it";
}
