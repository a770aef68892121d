using System.Diagnostics;
using System.Globalization;
using System.Text;
using Convergence.Control;
using Convergence.Coordination;
using Convergence.Examples.Poisson;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.MpiHarness;

/// <summary>
/// Reaction latency: from appending <c>STOP</c> to the notifications file to every rank having left the
/// control loop, with the framework's default cadence and poll interval, change notifications on and off.
/// </summary>
/// <remarks>
/// Collective. On rank 0 a separate thread appends the line after a random delay (so the append falls at
/// a random phase of the poll); the clock is the machine's monotonic clock, shared by the ranks of one
/// node, so each rank's end time is comparable with the append time.
/// </remarks>
internal sealed class LatencySuite(ICoordinator world, HarnessOptions options)
{
    // Stops a trial whose STOP was lost after a few seconds of the small grid, instead of never.
    private const long IterationCap = 3_000_000;

    /// <summary>Runs both configurations; returns the table (meaningful on rank 0).</summary>
    public string Run(List<string> targetLines)
    {
        var defaults = new RunOptions();
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture,
            $"Reaction latency: append 'STOP' -> all {world.Size} ranks stopped; Poisson Jacobi {options.SmallN}x{options.SmallN}, sync {defaults.Sync}, {options.Trials} trials each (nearest-rank percentiles)");
        table.AppendLine("configuration                                    p50 ms    p99 ms    max ms  lost");
        foreach (var notifications in new[] { true, false })
        {
            var config = defaults with { UseChangeNotifications = notifications };
            var label = string.Create(CultureInfo.InvariantCulture,
                $"poll {config.PollInterval.TotalMilliseconds:0} ms, change notifications {(notifications ? "on" : "off")}");
            var (latencies, lost) = Measure(config);
            var p99 = Statistics.Percentile(latencies, 99);
            table.AppendLine(CultureInfo.InvariantCulture,
                $"{label,-46} {Statistics.Median(latencies),9:F1} {p99,9:F1} {(latencies.Count == 0 ? double.NaN : latencies.Max()),9:F1}  {lost,4}");
            var limit = config.PollInterval.TotalMilliseconds + 50;
            targetLines.Add(string.Create(CultureInfo.InvariantCulture,
                $"reaction latency p99, {label}: {p99:F1} ms, target <= {limit:0} ms: {(p99 <= limit && lost == 0 ? "met" : "MISSED")}"));
        }

        return table.ToString();
    }

    private (List<double> Latencies, int Lost) Measure(RunOptions config)
    {
        var solver = new MeasuredSolver(new PoissonSolver(new PoissonOptions { N = options.SmallN, Sor = false }, world.Rank, world.Size));
        var latencies = new List<double>();
        var lost = 0;
        var random = new Random(12345);
        for (var trial = 0; trial < options.Trials; trial++)
        {
            var folder = world.Rank == 0 ? RankZeroKit.NewFolder("latency") : "(rank 0 only)";
            var runOptions = config with { ServiceDirectory = folder, Tolerance = 1e-300, MaxIterations = IterationCap };
            using var kit = RankZeroKit.StartOnRankZero(world, runOptions);
            var appended = 0L;
            Thread? appender = null;
            if (kit is not null)
            {
                var delay = TimeSpan.FromMilliseconds(50 + random.Next(300));
                appender = new Thread(() =>
                {
                    Thread.Sleep(delay);

                    // Timed from before the open: the service's own append is part of what the user waits for.
                    appended = Stopwatch.GetTimestamp();
                    using var file = new FileStream(kit.NotificationsFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                    file.Write("STOP\n"u8);
                }) { IsBackground = true, Name = "harness-appender" };
            }

            world.Barrier();
            appender?.Start();
            var result = new ControlLoop(solver, world, runOptions, kit?.Services).Run();
            var end = Stopwatch.GetTimestamp();
            var lastEnd = world.AllreduceMax(end);
            appender?.Join();
            kit?.Finish(result);
            if (result.Outcome != RunOutcome.Stopped)
            {
                lost++;
                if (world.Rank == 0)
                {
                    Console.Error.WriteLine($"latency trial {trial}: {result.Outcome} after {result.TotalIterations} iterations ({result.Message})");
                }

                continue;
            }

            latencies.Add((lastEnd - appended) * 1000.0 / Stopwatch.Frequency);
        }

        return (latencies, lost);
    }
}
