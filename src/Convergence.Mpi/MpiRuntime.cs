using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Convergence.Mpi;

/// <summary>
/// Starts and ends MPI for the process. MPI.NET's bindings import Microsoft MPI (<c>msmpi.dll</c>); on
/// Linux they are pointed at an MPICH-ABI library (MPICH, Intel MPI, MVAPICH, Cray MPICH), whose handles
/// and constants match. Open MPI's ABI differs and is refused with a clear message.
/// </summary>
/// <remarks>Call <see cref="Initialize"/> once, on the main thread, before any other MPI use.</remarks>
public static class MpiRuntime
{
    /// <summary>Environment variable naming the MPI library to load (a file name or path).</summary>
    public const string LibraryVariable = "CONVERGENCE_MPI_LIBRARY";

    private static readonly string[] Candidates = ["libmpich.so.12", "libmpi.so.12"];
    private static IntPtr _library;
    private static string _libraryName = string.Empty;
    private static bool _initialized;

    /// <summary>The library in use and its version text, for the start-up line.</summary>
    public static string Description { get; private set; } = "MPI not initialised";

    /// <summary>True between <see cref="Initialize"/> and <see cref="Shutdown"/>.</summary>
    public static bool IsInitialized => _initialized;

    /// <summary>Loads the library, installs the import resolver and calls <c>MPI_Init_thread</c> (funneled: only the main thread calls MPI).</summary>
    /// <exception cref="MpiException">No usable MPICH-ABI library, an Open MPI library, or MPI_Init failed; the message says what to do.</exception>
    public static unsafe void Initialize()
    {
        if (_initialized)
        {
            return;
        }

        LoadLibrary();
        var argc = 0;
        byte** argv = null;
        MpiException.Check(MPI.Unsafe.MPI_Init_thread(ref argc, ref argv, MPI.Unsafe.MPI_THREAD_FUNNELED, out _), "MPI_Init_thread");
        _initialized = true;
        Description = $"{_libraryName}: {LibraryVersion()}";
    }

    /// <summary>Calls <c>MPI_Finalize</c>; safe to call when not initialised.</summary>
    public static void Shutdown()
    {
        if (_initialized)
        {
            _initialized = false;
            _ = MPI.Unsafe.MPI_Finalize();
        }
    }

    private static void LoadLibrary()
    {
        var requested = Environment.GetEnvironmentVariable(LibraryVariable);
        var names = string.IsNullOrWhiteSpace(requested) ? Candidates : [requested];
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                if (NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _))
                {
                    throw new MpiException(
                        $"{name} is Open MPI, whose ABI MPI.NET cannot use on Linux; install an MPICH-ABI library (Debian: apt-get install mpich) or set {LibraryVariable} to one (MPICH, Intel MPI, MVAPICH, Cray MPICH)");
                }

                if (!NativeLibrary.TryGetExport(handle, "MPI_Init_thread", out _))
                {
                    throw new MpiException($"{name} does not export MPI_Init_thread: not an MPI library? Set {LibraryVariable} to an MPICH-ABI libmpi");
                }

                _library = handle;
                _libraryName = name;
                NativeLibrary.SetDllImportResolver(typeof(MPI.Unsafe).Assembly, Resolve);
                return;
            }
        }

        throw new MpiException(
            $"no MPICH-ABI MPI library found (tried {string.Join(", ", names)}): install one (Debian: apt-get install mpich) or set {LibraryVariable} to its path");
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name.Contains("msmpi", StringComparison.OrdinalIgnoreCase) || name.Contains("mpi", StringComparison.OrdinalIgnoreCase) ? _library : IntPtr.Zero;

    private static unsafe string LibraryVersion()
    {
        if (!NativeLibrary.TryGetExport(_library, "MPI_Get_library_version", out var export))
        {
            return "version unknown";
        }

        var getVersion = (delegate* unmanaged<byte*, int*, int>)export;
        var buffer = stackalloc byte[8192];
        var length = 0;
        if (getVersion(buffer, &length) != 0 || length <= 0)
        {
            return "version unknown";
        }

        var text = Encoding.ASCII.GetString(buffer, Math.Min(length, 8192));
        var firstLine = text.Split('\n', 2)[0].Trim();
        return firstLine.Length == 0 ? "version unknown" : firstLine;
    }
}
