using System.Diagnostics;
using System.Globalization;
using Convergence.Coordination;
using Convergence.Options;

namespace Convergence.MpiHarness;

/// <summary>
/// The CPU that rank 0's background threads (notifications watcher and status page writer, default
/// intervals) take while the solver runs: the process's CPU time over a window in which the main thread
/// sleeps, with and without the services. Resolution is the kernel's accounting tick (10 ms), so only a
/// window of seconds says anything.
/// </summary>
/// <remarks>Collective: the other ranks wait at a barrier.</remarks>
internal sealed class WatcherCostSuite(ICoordinator world, HarnessOptions options)
{
    public string Run()
    {
        var window = TimeSpan.FromSeconds(options.Quick ? 0.5 : 10);
        var line = string.Empty;
        if (world.Rank == 0)
        {
            var idle = CpuOver(window, withServices: false);
            var busy = CpuOver(window, withServices: true);
            line = string.Create(CultureInfo.InvariantCulture,
                $"Rank 0 background CPU over {window.TotalSeconds:0.#} s (main thread asleep): without services {idle.TotalMilliseconds:0} ms, with watcher + status writer at defaults {busy.TotalMilliseconds:0} ms = {(busy - idle).TotalMilliseconds / window.TotalMilliseconds * 100:0.00}% of one core");
        }

        world.Barrier();
        return line;
    }

    private static TimeSpan CpuOver(TimeSpan window, bool withServices)
    {
        var options = new RunOptions { ServiceDirectory = RankZeroKit.NewFolder("watcher") };
        File.WriteAllText(options.NotificationsFile, "STOP #from-an-earlier-run\n");
        using var kit = withServices ? RankZeroKit.Start(options) : null;
        using var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        Thread.Sleep(window);
        process.Refresh();
        var used = process.TotalProcessorTime - before;
        if (!withServices)
        {
            Directory.Delete(options.ServiceDirectory, recursive: true);
        }

        return used;
    }
}
