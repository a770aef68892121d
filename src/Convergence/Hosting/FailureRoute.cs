using System.Runtime.InteropServices;
using Convergence.Coordination;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Status;

namespace Convergence.Hosting;

/// <summary>
/// One rank's way from "something failed" to "the job is down with one FAILED result": records the
/// failure once (rank 0 on its own page; another rank hands it to rank 0), and for a failure on a
/// background thread gets the main thread to abort, since only the main thread may call MPI.
/// </summary>
/// <remarks>
/// <para>
/// Who writes: rank 0, always when it can. A failing rank other than 0 hands its error over
/// (<see cref="PeerFailureReports"/>) and waits at most <see cref="HandOverTimeout"/> for rank 0 to write
/// the result and page with its journal and history; only if rank 0 does not answer (its node is gone, or
/// the job had already ended there) does it write them itself, as a last resort.
/// </para>
/// <para>
/// A failure on a background thread: it is recorded at once, then the main thread, which checks
/// <see cref="IsPending"/> at every sync boundary, throws and aborts the job through the coordinator (a
/// legal MPI call from the main thread). If the main thread does not get there within
/// <see cref="MainThreadTimeout"/> (one iteration that long, or stuck), the failing thread ends its own
/// process with SIGKILL, without an MPI call; the launcher then takes the job down (MPICH's hydra and
/// Open MPI's mpirun do for a rank that dies by a signal; under Slurm use <c>srun --kill-on-bad-exit</c>).
/// </para>
/// <para>Thread-safe: any thread may record; the first failure wins.</para>
/// </remarks>
internal sealed partial class FailureRoute
{
    /// <summary>How long the main thread has to reach a boundary after a background failure before the last resort.</summary>
    public static readonly TimeSpan MainThreadTimeout = TimeSpan.FromSeconds(10);

    private const int SigKill = 9;

    private readonly ICoordinator _coordinator;
    private readonly JobLog _log;
    private readonly object _gate = new();
    private ServiceHost? _host;
    private RunOptions? _options;
    private string _jobName = string.Empty;
    private string _solverName = string.Empty;
    private bool _attached;
    private bool _recorded;
    private volatile string? _pending;

    /// <summary>Creates the route for this rank.</summary>
    public FailureRoute(ICoordinator coordinator, JobLog log)
    {
        _coordinator = coordinator;
        _log = log;
    }

    /// <summary>True once a background thread has failed; the main thread must throw at its next boundary.</summary>
    public bool IsPending => _pending is not null;

    /// <summary>How long a failing rank waits for rank 0 to take its failure before it writes the result itself.</summary>
    public TimeSpan HandOverTimeout => (2 * (_options?.PollInterval ?? TimeSpan.Zero)) + PeerFailureWatcher.Grace + TimeSpan.FromSeconds(4);

    /// <summary>Names the job's files and names before anything can fail.</summary>
    public void Prepare(RunOptions options, string jobName, string solverName)
    {
        lock (_gate)
        {
            _options = options;
            _jobName = jobName;
            _solverName = solverName;
        }
    }

    /// <summary>
    /// Called once rank 0 has written the placeholder (after the start barrier): from now on every rank
    /// may record a failure in the service folder. <paramref name="host"/> is rank 0's, null on other ranks.
    /// </summary>
    public void Attach(ServiceHost? host)
    {
        lock (_gate)
        {
            _host = host;
            _attached = true;
        }
    }

    /// <summary>Main thread at a boundary: throws if a background thread failed (the failure is already recorded).</summary>
    /// <exception cref="InvalidOperationException">A background thread failed.</exception>
    public void ThrowIfPending()
    {
        if (_pending is { } error)
        {
            throw new InvalidOperationException($"ending the job after a failure on a background thread: {error}");
        }
    }

    /// <summary>Records <paramref name="error"/> as the job's failure, once; later calls do nothing.</summary>
    /// <param name="error">What went wrong, one line, starting with the rank.</param>
    /// <param name="exitCode">The exit code the result names.</param>
    public void Record(string error, int exitCode)
    {
        ServiceHost? host;
        RunOptions? options;
        bool attached;
        lock (_gate)
        {
            if (_recorded)
            {
                return;
            }

            _recorded = true;
            host = _host;
            options = _options;
            attached = _attached;
        }

        if (host is not null)
        {
            host.FailAs(error, exitCode, 0);
            return;
        }

        if (options is null)
        {
            return;
        }

        if (_coordinator.Rank == 0 || _coordinator.Size == 1)
        {
            // Rank 0 before its services started (e.g. the service folder cannot be written): it is the
            // writer, there is no journal yet to keep.
            WriteOwnResult(options, error, exitCode);
            return;
        }

        if (!attached)
        {
            // Before the start barrier rank 0 may not have written its placeholder yet, which would replace
            // a result written now, and may still clear the hand-over folder: the log gets the error only.
            return;
        }

        var reports = new PeerFailureReports(options.ServiceDirectory);
        try
        {
            reports.Report(_coordinator.Rank, error);
            if (reports.WaitForRecorded(HandOverTimeout))
            {
                return;
            }

            _log.Write($"rank 0 did not record this failure within {HandOverTimeout.TotalSeconds:0} s; rank {_coordinator.Rank} writes the FAILED result itself");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Write($"cannot hand the failure to rank 0 through {reports.Folder}: {ex.Message}; rank {_coordinator.Rank} writes the FAILED result itself");
        }

        WriteOwnResult(options, error, exitCode);
    }

    /// <summary>
    /// The handler for an exception no thread caught: records it, asks the main thread to abort, and waits for
    /// that; the last resort after <see cref="MainThreadTimeout"/> ends this process. Does not return.
    /// </summary>
    public void OnUnhandled(object exception)
    {
        var name = Thread.CurrentThread.Name ?? $"#{Environment.CurrentManagedThreadId}";
        var text = exception is Exception ex ? $"{ex.GetType().Name}: {ex.Message}" : exception.ToString() ?? "unknown error";
        Console.Error.WriteLine($"convergence: rank {_coordinator.Rank} failed on a background thread ({name}): {exception}");
        Console.Error.Flush();
        var error = $"rank {_coordinator.Rank}: {text} (on thread {name})";

        // Recorded on a thread of its own with a bounded wait: the failed thread may be one the recording
        // waits for (the reporter, while the main thread finishes), and nothing may keep the watchdog below
        // from running.
        var recorder = new Thread(() =>
        {
            try
            {
                Record(error, ExitCodes.Failed);
            }
            catch (Exception recordError)
            {
                Console.Error.WriteLine($"convergence: rank {_coordinator.Rank}: recording the failure failed too: {recordError.Message}");
            }
        })
        { IsBackground = true, Name = "convergence-failure-record" };
        recorder.Start();
        if (!recorder.Join(HandOverTimeout + TimeSpan.FromSeconds(5)))
        {
            Console.Error.WriteLine($"convergence: rank {_coordinator.Rank}: recording the failure did not finish in time; ending the job without it");
        }

        _pending = error;

        // Returning would let the runtime end the process at once (without a word to the other ranks
        // beyond the launcher's); wait for the main thread's abort instead, bounded.
        Thread.Sleep(MainThreadTimeout);
        Console.Error.WriteLine($"convergence: rank {_coordinator.Rank}: the main thread did not reach a boundary within {MainThreadTimeout.TotalSeconds:0} s after the failure; ending this process (SIGKILL) so that the launcher ends the job");
        Console.Out.Flush();
        Console.Error.Flush();
        _log.Flush();
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            _ = Kill(Environment.ProcessId, SigKill);
        }

        Environment.FailFast(error);
    }

    /// <summary>The last resort on a rank other than 0: its own FAILED result and a page without rank 0's history.</summary>
    private void WriteOwnResult(RunOptions options, string error, int exitCode)
    {
        try
        {
            Directory.CreateDirectory(options.ServiceDirectory);
            ResultFile.Write(options.ResultFile, ResultFile.FormatFailure(_jobName, _coordinator.Rank, _coordinator.Size, error, exitCode, RankHosts.ThisHost));

            // Otherwise the page would say "running" for ever: this rank cannot show rank 0's history or
            // journal, but it can say that the job failed and why.
            var failed = StatusSnapshot.Failed(_jobName, _solverName, _coordinator.Size, options.Tolerance, error);
            AtomicFile.WriteAllText(options.StatusFile, StatusPage.Render(failed), durable: true);
            StatusJson.WriteBeside(options.StatusFile, failed, durable: true);
        }
        catch (Exception writeError) when (writeError is IOException or UnauthorizedAccessException)
        {
            _log.Write($"could not write the FAILED result to {options.ResultFile}: {writeError.Message}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
