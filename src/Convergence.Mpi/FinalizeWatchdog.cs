using System.Globalization;
using System.Runtime.InteropServices;

namespace Convergence.Mpi;

/// <summary>
/// Bounds <c>MPI_Finalize</c>. Once the result is durable the job is over, but some MPI stacks can spin in
/// their finalize for ever (UCX over TCP after a peer left first, seen across nodes); a finished job would
/// then hold its allocation until the wall time. After <see cref="TimeoutVariable"/> (default 10 s) a
/// watchdog says so on stderr and ends the process with the job's own exit code.
/// </summary>
internal static partial class FinalizeWatchdog
{
    /// <summary>Seconds <c>MPI_Finalize</c> may take (a number, or <c>off</c>); unset: <see cref="DefaultTimeout"/>.</summary>
    public const string TimeoutVariable = "CONVERGENCE_FINALIZE_TIMEOUT";

    /// <summary>Test hook: <c>all</c> (or a comma list of ranks) makes finalize hang on those ranks, to prove the watchdog fires.</summary>
    public const string StallVariable = "CONVERGENCE_TEST_STALL_FINALIZE";

    /// <summary>The bound when <see cref="TimeoutVariable"/> is unset.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The bound from the environment; null when switched off.</summary>
    /// <exception cref="FormatException">The variable is neither a positive number of seconds nor <c>off</c>; the message is one line.</exception>
    public static TimeSpan? ReadTimeout()
    {
        var text = Environment.GetEnvironmentVariable(TimeoutVariable)?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return DefaultTimeout;
        }

        if (text.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return double.TryParse(text.TrimEnd('s'), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new FormatException($"convergence: {TimeoutVariable}='{text}' is not a number of seconds between 0 and 86400 or 'off'");
    }

    /// <summary>
    /// Runs <paramref name="finalize"/>; if it has not returned after <paramref name="timeout"/>, writes one
    /// line on stderr and ends the process at once with <paramref name="exitCode"/> (no managed shutdown: the
    /// main thread is inside MPI and would never get there).
    /// </summary>
    public static void Run(Action finalize, TimeSpan? timeout, int exitCode, int rank)
    {
        if (StallsOn(rank))
        {
            var stalled = finalize;
            finalize = () =>
            {
                Thread.Sleep(Timeout.Infinite);
                stalled();
            };
        }

        if (timeout is not { } bound)
        {
            finalize();
            return;
        }

        using var done = new ManualResetEventSlim();
        var watchdog = new Thread(() =>
        {
            if (done.Wait(bound))
            {
                return;
            }

            Console.Out.Flush();
            Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"convergence: MPI_Finalize did not return within {bound.TotalSeconds:0.###} s on rank {rank}; the result is written, so this rank exits now with code {exitCode} ({TimeoutVariable} sets the bound)"));
            Console.Error.Flush();
            Exit(exitCode);
        })
        {
            IsBackground = true,
            Name = "finalize watchdog",
        };
        watchdog.Start();
        finalize();
        done.Set();
    }

    private static bool StallsOn(int rank)
    {
        var text = Environment.GetEnvironmentVariable(StallVariable);
        return !string.IsNullOrEmpty(text)
            && (text == "all" || text.Split(',').Contains(rank.ToString(CultureInfo.InvariantCulture), StringComparer.Ordinal));
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void Exit(int code);
}
