using System.Net;
using System.Runtime.InteropServices;
using Convergence.Cli.Portal;

namespace Convergence.Cli.Commands;

/// <summary><c>convergence portal</c>: watch and steer a job from a browser, as in the SemWES portal.</summary>
internal static class PortalCommand
{
    /// <summary>One line for the tool's help.</summary>
    public const string Summary = "serve a service folder's status page on 127.0.0.1 and pass its clicks to notifications.txt";

    /// <summary>Runs the portal until Ctrl+C or SIGTERM; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.Out.WriteLine(PortalOptions.Help);
            return ExitCode.Ok;
        }

        PortalOptions options;
        try
        {
            options = PortalOptions.Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"convergence portal: {ex.Message} (see convergence portal --help)");
            return ExitCode.Usage;
        }

        if (!Directory.Exists(options.ServiceDirectory))
        {
            // The job creates it; the portal waits for the job rather than failing.
            Console.Out.WriteLine($"convergence portal: {options.ServiceDirectory} does not exist yet; waiting for the job to create it");
        }

        PortalServer server;
        try
        {
            server = PortalServer.Start(options, Log);
        }
        catch (HttpListenerException ex)
        {
            Console.Error.WriteLine($"convergence portal: cannot listen on {options.Address} port {options.Port}: {ex.Message} (try another --port, or --port 0 for any free one)");
            return ExitCode.Error;
        }

        using (server)
        using (var stop = new CancellationTokenSource())
        {
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                // Ctrl+C ends the server loop; the process then exits normally.
                e.Cancel = true;
                stop.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stop.Cancel();
            });
            // The only place the secret is shown: whoever can read this terminal may steer the job.
            Console.Out.WriteLine($"convergence portal: serving {server.StatusFile} at {server.LoginUrl} (open this URL: it carries the secret; messages go to {server.NotificationsFile}; Ctrl+C to stop)");
            Console.Out.Flush();
            server.RunAsync(stop.Token).GetAwaiter().GetResult();
            Console.CancelKeyPress -= onCancel;
        }

        Console.Out.WriteLine("convergence portal: stopped");
        return ExitCode.Ok;
    }

    private static void Log(string message)
    {
        Console.Out.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {message}");
        Console.Out.Flush();
    }
}
