using System.Globalization;
using System.Runtime.InteropServices;
using Convergence.Mpi;

namespace Convergence.MpiHarness;

/// <summary>
/// The MPI overhead harness: <c>mpirun.mpich -np 2 dotnet Convergence.MpiHarness.dll [--quick]</c> (or <c>mpirun.openmpi</c>) prints one
/// table of overheads and one of reaction latencies, then a line per target (met or MISSED).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(HarnessOptions.Usage);
            return 0;
        }

        HarnessOptions options;
        try
        {
            options = HarnessOptions.Parse(args);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"harness: {ex.Message} (see --help)");
            return 2;
        }

        // Open MPI's launcher gives each rank a terminal: keep its escape sequences out of the tables.
        PlainConsole.Apply();
        MpiCoordinator world;
        try
        {
            MpiRuntime.Initialize();
            world = new MpiCoordinator();
        }
        catch (Exception ex) when (ex is MpiException or DllNotFoundException or EntryPointNotFoundException)
        {
            Console.Error.WriteLine($"harness: cannot start MPI: {ex.Message}");
            return 1;
        }

        if (MpiRuntime.LaunchMismatch is { } mismatch)
        {
            if (MpiRuntime.ReportsLaunchMismatch)
            {
                Console.Error.WriteLine(mismatch);
            }

            MpiRuntime.Shutdown();
            return 2;
        }

        try
        {
            var isRoot = world.Rank == 0;
            if (isRoot)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Convergence MPI harness {(options.Quick ? "(quick: smoke run, figures not meaningful)" : string.Empty)}"));
                Console.WriteLine($"ranks={world.Size} mpi=\"{MpiRuntime.Description.Split('\n')[0].Trim()}\" runtime={RuntimeInformation.FrameworkDescription} cpus={Environment.ProcessorCount} load=\"{LoadAverage()}\" utc={DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}");
                foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("MPIR_CVAR_", StringComparison.Ordinal)).Order())
                {
                    // MPICH tuning variables change the collectives' cost: the table is only comparable with them named.
                    Console.WriteLine($"{name}={Environment.GetEnvironmentVariable(name)}");
                }

                Console.WriteLine();
            }

            var checkedLine = CollectiveCheck.Run(world);
            if (isRoot)
            {
                Console.WriteLine(checkedLine);
                Console.WriteLine();
            }

            if (options.RunResume)
            {
                var resume = new ResumeSuite(world, options).Run();
                if (isRoot)
                {
                    Console.WriteLine(resume);
                }

                world.Barrier();
                MpiRuntime.Shutdown();
                return 0;
            }

            if (options.RunCheckpoints)
            {
                var checkpoints = new CheckpointSuite(world, options).Run();
                if (isRoot)
                {
                    Console.WriteLine(checkpoints);
                }

                world.Barrier();
                MpiRuntime.Shutdown();
                return 0;
            }

            var targets = new List<string>();
            var costs = new CallCostSuite(world, options).Run();
            if (isRoot)
            {
                Console.WriteLine(costs);
            }

            if (options.RunOverhead)
            {
                var table = new OverheadSuite(world, options).Run(targets);
                if (isRoot)
                {
                    Console.WriteLine(table);
                }
            }

            if (options.RunLatency)
            {
                var table = new LatencySuite(world, options).Run(targets);
                if (isRoot)
                {
                    Console.WriteLine(table);
                }
            }

            var watcher = options.RunLatency ? new WatcherCostSuite(world, options).Run() : string.Empty;
            if (isRoot)
            {
                Console.WriteLine(watcher);
                Console.WriteLine();
                Console.WriteLine(options.Quick ? "Targets: (quick run: the figures mean nothing, only that every path ran)" : "Targets:");
                foreach (var line in targets)
                {
                    Console.WriteLine($"  {line}");
                }

                Console.WriteLine($"load at end=\"{LoadAverage()}\"");
            }

            world.Barrier();
            MpiRuntime.Shutdown();
            return 0;
        }
        catch (Exception ex)
        {
            // A rank that fails alone would leave the others in a collective for ever.
            Console.Error.WriteLine($"harness: rank {world.Rank} failed: {ex}");
            world.Abort(1);
            return 1;
        }
    }

    /// <summary>The 1, 5 and 15 minute load averages: the machine is shared, so the figures need their context.</summary>
    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
