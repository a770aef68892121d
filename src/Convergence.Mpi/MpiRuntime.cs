using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Convergence.Mpi;

/// <summary>
/// Starts and ends MPI for the process with the binding that fits the library: MPI.NET (whose imports
/// name Microsoft MPI's <c>msmpi</c> and are pointed at the loaded library) for MPICH-ABI libraries
/// (MPICH, Intel MPI, MVAPICH, Cray MPICH), and a run-time resolved binding for Open MPI. Which library
/// is loaded follows what started the process (see <see cref="MpiLauncher"/>), unless
/// <see cref="LibraryVariable"/> names one.
/// </summary>
/// <remarks>Call <see cref="Initialize"/> once, on the main thread, before any other MPI use.</remarks>
public static partial class MpiRuntime
{
    /// <summary>
    /// Environment variable choosing the MPI library: <c>mpich</c> or <c>openmpi</c> (that family's usual
    /// library names), or a file name or path (its exports say which family it is).
    /// </summary>
    public const string LibraryVariable = "CONVERGENCE_MPI_LIBRARY";

    // libmpi.so.12 is MPICH-ABI for Intel MPI and MVAPICH, but also Open MPI 1.10's name: the exports decide.
    private static readonly string[] MpichCandidates = ["libmpich.so.12", "libmpi.so.12"];
    private static readonly string[] OpenMpiCandidates = ["libmpi.so.40", "libmpi.so.20", "libmpi.so.12"];

    // Where Apptainer keeps an image's metadata (%environment, %runscript); build-image.sh --rootfs too.
    private const string ImageMetadataFolder = "/.singularity.d";

    private static IntPtr _library;
    private static MpiBinding? _binding;
    private static bool _initialized;

    /// <summary>The library, its family and version, and the launcher, for the start-up line.</summary>
    public static string Description { get; private set; } = "MPI not initialised";

    /// <summary>The family of the loaded library (meaningful once <see cref="Initialize"/> has run).</summary>
    public static MpiFamily Family => _binding?.Family ?? MpiFamily.MpichAbi;

    /// <summary>The library's own version line, shortened (e.g. "MPICH 4.0.2", "Open MPI v4.1.4").</summary>
    public static string Version { get; private set; } = "version unknown";

    /// <summary>True between <see cref="Initialize"/> and <see cref="Shutdown()"/>.</summary>
    public static bool IsInitialized => _initialized;

    /// <summary>
    /// Set by <see cref="Initialize"/> when the launcher started more ranks than MPI sees (the library
    /// cannot talk to this launcher, so every rank would run alone): one line saying which launcher, which
    /// library and what to do. Null when launcher and library agree.
    /// </summary>
    public static string? LaunchMismatch { get; private set; }

    /// <summary>
    /// True when this process should print <see cref="LaunchMismatch"/>: the launcher's rank 0 (or every
    /// process when the launcher does not number them), so the refusal is said once, not once per copy.
    /// </summary>
    public static bool ReportsLaunchMismatch => Launcher.Rank is null or 0;

    /// <summary>What started the process.</summary>
    internal static MpiLauncher Launcher { get; private set; } = MpiLauncher.None;

    /// <summary>The binding in use; null before <see cref="Initialize"/>.</summary>
    internal static MpiBinding? Binding => _binding;

    /// <summary>
    /// Detects the launcher, loads the library and its binding, calls <c>MPI_Init_thread</c> (funneled:
    /// only the main thread calls MPI) and checks that MPI sees as many ranks as the launcher started
    /// (see <see cref="LaunchMismatch"/>).
    /// </summary>
    /// <exception cref="MpiException">No usable MPI library, or MPI_Init failed; the message says what to do.</exception>
    public static void Initialize()
    {
        if (_initialized)
        {
            return;
        }

        Launcher = MpiLauncher.Detect();
        var (library, name, family) = LoadLibrary(Launcher);
        _library = library;
        _binding = family == MpiFamily.OpenMpi ? new OpenMpiBinding(library, name) : CreateMpichBinding(library, name);
        _binding.Initialize();
        _initialized = true;
        Version = LibraryVersion();
        var familyName = family == MpiFamily.OpenMpi ? "Open MPI ABI" : "MPICH ABI";
        Description = $"{Version}, {name}, {familyName}; started by {Launcher.Name}";

        var size = _binding.Size();
        LaunchMismatch = Launcher.Size is > 1 && size == 1 ? MismatchMessage(name, family, Launcher) : null;
    }

    /// <summary>Calls <c>MPI_Finalize</c>; safe to call when not initialised.</summary>
    public static void Shutdown() => Shutdown(null, 0);

    /// <summary>
    /// Calls <c>MPI_Finalize</c>, bounded by <paramref name="timeout"/> (<see cref="FinalizeWatchdog"/>): past it
    /// the process ends with <paramref name="exitCode"/>. Safe to call when not initialised.
    /// </summary>
    public static void Shutdown(TimeSpan? timeout, int exitCode)
    {
        if (_initialized)
        {
            _initialized = false;
            var binding = _binding!;
            FinalizeWatchdog.Run(binding.Shutdown, timeout, exitCode, binding.Rank());
        }
    }

    private static MpichBinding CreateMpichBinding(IntPtr library, string name)
    {
        NativeLibrary.SetDllImportResolver(typeof(MPI.Unsafe).Assembly, Resolve);
        return new MpichBinding(library, name);
    }

    private static string MismatchMessage(string library, MpiFamily family, MpiLauncher launcher)
    {
        var libraryFamily = family == MpiFamily.OpenMpi ? "Open MPI" : "MPICH-ABI";
        // Inside a container image nothing can be installed: the advice is the other image, or the host MPI
        // that matches this one (Apptainer images, and build-image.sh --rootfs ones, have /.singularity.d).
        var inImage = Directory.Exists(ImageMetadataFolder);
        var todo = (launcher.Family, family) switch
        {
            _ when launcher.Name.StartsWith("srun", StringComparison.Ordinal) =>
                $"pick srun's PMI for {library}: srun --mpi=pmix for Open MPI, --mpi=pmi2 for MPICH (srun --mpi=list shows what this cluster has), or set {LibraryVariable}",
            (MpiFamily.OpenMpi, MpiFamily.MpichAbi) when inImage =>
                "this image carries MPICH: start it with the host's MPICH-ABI launcher (load MPICH or Intel MPI, then mpirun), or for Open MPI hosts build the image with jobscripts/build-image.sh --mpi openmpi",
            (MpiFamily.MpichAbi, MpiFamily.OpenMpi) when inImage =>
                "this image carries Open MPI: start it with the host's Open MPI mpirun (load Open MPI), or for MPICH-ABI hosts build the image with jobscripts/build-image.sh --mpi mpich",
            (MpiFamily.OpenMpi, MpiFamily.MpichAbi) => $"start it with MPICH's launcher (mpirun.mpich) or let it load Open MPI (unset {LibraryVariable} or set it to openmpi; Debian: apt-get install libopenmpi3)",
            (MpiFamily.MpichAbi, MpiFamily.OpenMpi) => $"start it with Open MPI's launcher (mpirun.openmpi) or let it load an MPICH-ABI library (unset {LibraryVariable} or set it to mpich; Debian: apt-get install libmpich12)",
            _ => $"start it with the launcher that belongs to {library}, or set {LibraryVariable} to the library of this launcher's MPI",
        };
        return $"convergence: {launcher.Name} started {launcher.Size} ranks but {library} ({Version}, {libraryFamily}) sees only 1, so each would run alone; {todo}";
    }

    /// <summary>
    /// Picks the library: the one <see cref="LibraryVariable"/> names, else the first that loads among the
    /// launcher's family's names (MPICH's when no launcher says), else among the other family's.
    /// </summary>
    private static (IntPtr Handle, string Name, MpiFamily Family) LoadLibrary(MpiLauncher launcher)
    {
        var requested = Environment.GetEnvironmentVariable(LibraryVariable)?.Trim();
        if (!string.IsNullOrEmpty(requested) && requested is not ("mpich" or "openmpi"))
        {
            if (!NativeLibrary.TryLoad(requested, out var handle))
            {
                throw new MpiException($"{LibraryVariable}={requested}: cannot load it; give a libmpi file name or path that exists, or mpich / openmpi");
            }

            return (handle, requested, Classify(handle, requested));
        }

        var preferred = requested switch
        {
            "openmpi" => MpiFamily.OpenMpi,
            "mpich" => MpiFamily.MpichAbi,
            _ => launcher.Family ?? MpiFamily.MpichAbi,
        };
        var first = preferred == MpiFamily.OpenMpi ? OpenMpiCandidates : MpichCandidates;
        var second = preferred == MpiFamily.OpenMpi ? MpichCandidates : OpenMpiCandidates;
        var names = string.IsNullOrEmpty(requested) ? first.Concat(second).Distinct().ToArray() : first;
        (IntPtr Handle, string Name, MpiFamily Family)? fallback = null;
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var handle))
            {
                continue;
            }

            var family = Classify(handle, name);
            if (family == preferred)
            {
                if (fallback is { } unused)
                {
                    NativeLibrary.Free(unused.Handle);
                }

                return (handle, name, family);
            }

            if (fallback is null)
            {
                fallback = (handle, name, family);
            }
            else
            {
                NativeLibrary.Free(handle);
            }
        }

        // A library of the other family still runs a singleton; under a launcher that started several
        // ranks, Initialize refuses it with LaunchMismatch instead of letting each rank run alone.
        return fallback ?? throw new MpiException(
            $"no MPI library found (tried {string.Join(", ", names)}): install one (Debian: apt-get install mpich, or openmpi-bin for Open MPI) or set {LibraryVariable} to its path");
    }

    private static MpiFamily Classify(IntPtr handle, string name)
    {
        if (!NativeLibrary.TryGetExport(handle, "MPI_Init_thread", out _))
        {
            throw new MpiException($"{name} does not export MPI_Init_thread: not an MPI library? Set {LibraryVariable} to a libmpi (MPICH ABI or Open MPI)");
        }

        return NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _) ? MpiFamily.OpenMpi : MpiFamily.MpichAbi;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name.Contains("mpi", StringComparison.OrdinalIgnoreCase) ? _library : IntPtr.Zero;

    private static unsafe string LibraryVersion()
    {
        if (!NativeLibrary.TryGetExport(_library, "MPI_Get_library_version", out var export))
        {
            return "version unknown";
        }

        // MPI_MAX_LIBRARY_VERSION_STRING is 8192 in MPICH, 256 in Open MPI: the larger fits both.
        var getVersion = (delegate* unmanaged<byte*, int*, int>)export;
        var buffer = stackalloc byte[8192];
        var length = 0;
        if (getVersion(buffer, &length) != 0 || length <= 0)
        {
            return "version unknown";
        }

        return ShortVersion(Encoding.ASCII.GetString(buffer, Math.Min(length, 8192)));
    }

    /// <summary>
    /// The first line of a library version text, without the build details:
    /// "MPICH Version:\t4.0.2" → "MPICH 4.0.2"; "Open MPI v4.1.4, package: …" → "Open MPI v4.1.4".
    /// </summary>
    internal static string ShortVersion(string text)
    {
        var line = text.Split('\n', 2)[0];
        var comma = line.IndexOf(',', StringComparison.Ordinal);
        if (comma > 0)
        {
            line = line[..comma];
        }

        line = Whitespace().Replace(line.Replace("Version:", " ", StringComparison.Ordinal), " ").Trim();
        return line.Length == 0 ? "version unknown" : line;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
