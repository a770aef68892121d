using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Convergence.Cli.Portal;

namespace Convergence.Cli.Commands;

/// <summary><c>convergence portal</c>: watch and steer a job from a browser, as in the SemWES portal.</summary>
internal static class PortalCommand
{
    /// <summary>One line for the tool's help.</summary>
    public const string Summary = "Serve a job's status page on 127.0.0.1 with notify_running_job() injected, as the SemWES portal does: each click is appended to its notifications.txt. Runs until Ctrl+C. Exit codes: 0 stopped, 1 cannot listen, 2 bad command line.";

    /// <summary>The command's name on the command line.</summary>
    public const string Name = "portal";

    /// <summary>The environment variable that may hold the secret (seen only by the same user, unlike a command line).</summary>
    public const string TokenVariable = "CONVERGENCE_PORTAL_TOKEN";

    /// <summary>
    /// The command for the tool's parser. Each portal option is declared here, once: its name, help and the
    /// check of its value (the validators in <see cref="PortalOptions"/>); a new option is one more entry.
    /// </summary>
    public static Command Create(Func<string, string?> environment)
    {
        var service = ServiceFolderOption.Create();
        var port = Checked("--port", "n", "TCP port, 0 for any free one.", PortalOptions.DefaultPort, v => PortalOptions.Number("--port", v, 0, 65535));
        var host = Checked("--host", "address", "Loopback address to bind: 127.0.0.1, ::1 or localhost.", IPAddress.Loopback, PortalOptions.Loopback);
        var maxBytes = Checked("--max-message-bytes", "n", "Refuse longer messages with HTTP 413.", PortalOptions.DefaultMaxMessageBytes, v => PortalOptions.Number("--max-message-bytes", v, 1, 1 << 20));
        var token = Checked<string?>("--token", "secret", $"Use this secret instead of a random one (at least 16 characters). Every request needs it: the printed URL carries it, then a cookie; scripts send 'Authorization: token SECRET'. Other users see a command line (ps, /proc/PID/cmdline): prefer --token-file or {TokenVariable}.", null, PortalOptions.Secret);
        var tokenFile = new Option<string?>("--token-file")
        {
            Description = $"Read the secret from this file (only its owner may read it: chmod 600), e.g. --token-file <(pass show portal). Without --token or --token-file, {TokenVariable} is used if set, else a random secret.",
            HelpName = "path",
        };
        var allowHost = new Option<string[]>("--allow-host")
        {
            Description = "Also answer to this Host header, e.g. localhost:9000 behind an SSH tunnel (loopback names only; repeatable).",
            HelpName = "name[:port]",
            DefaultValueFactory = _ => [],
            CustomParser = result =>
            {
                try
                {
                    return result.Tokens.Select(t => PortalOptions.HostName(t.Value)).ToArray();
                }
                catch (FormatException ex)
                {
                    result.AddError(ex.Message);
                    return [];
                }
            },
        };
        var command = new Command(Name, Summary)
        {
            service, port, host, maxBytes, token, tokenFile, allowHost,
        };
        command.Validators.Add(result =>
        {
            if (result.GetResult(token) is { Implicit: false } && result.GetResult(tokenFile) is not null)
            {
                result.AddError("give the secret once: --token or --token-file, not both");
            }
        });
        command.SetAction(parsed =>
        {
            string? secret;
            try
            {
                secret = parsed.GetValue(token) ?? PortalSecret.Resolve(parsed.GetValue(tokenFile), environment(TokenVariable));
            }
            catch (CliUsageException ex)
            {
                Console.Error.WriteLine($"convergence portal: {ex.Message}");
                return ExitCode.Usage;
            }

            var folder = parsed.GetValue(service) ?? environment(ServiceFolderOption.EnvironmentVariable);
            var options = new PortalOptions
            {
                ServiceDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(folder) ? Convergence.Options.RunOptions.DefaultServiceDirectory : folder),
                Port = parsed.GetValue(port),
                Address = parsed.GetValue(host)!,
                MaxMessageBytes = parsed.GetValue(maxBytes),
                Token = secret,
                ExtraAllowedHosts = parsed.GetValue(allowHost) ?? [],
            };
            return Run(options);
        });
        return command;
    }

    /// <summary>Runs the portal until Ctrl+C or SIGTERM; returns the exit code.</summary>
    public static int Run(PortalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(options.ServiceDirectory))
        {
            // The job creates it; the portal waits for the job rather than failing.
            Console.Out.WriteLine($"convergence portal: {options.ServiceDirectory} does not exist yet; waiting for the job to create it");
        }

        using (var server = TryStart(options))
        using (var stop = new CancellationTokenSource())
        {
            if (server is null)
            {
                return ExitCode.Error;
            }

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

    /// <summary>An option whose value <paramref name="parse"/> checks; its <see cref="FormatException"/> is the one-line error.</summary>
    private static Option<T> Checked<T>(string name, string valueName, string description, T fallback, Func<string, T> parse) => new(name)
    {
        Description = description,
        HelpName = valueName,
        DefaultValueFactory = _ => fallback,
        CustomParser = result =>
        {
            try
            {
                return parse(result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty);
            }
            catch (FormatException ex)
            {
                result.AddError(ex.Message);
                return fallback;
            }
        },
    };

    /// <summary>Starts the server, or says in one line why it cannot listen and returns null.</summary>
    private static PortalServer? TryStart(PortalOptions options)
    {
        try
        {
            return PortalServer.Start(options, Log);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"convergence portal: cannot listen on {options.Address} port {options.Port}: {ex.Message.TrimEnd('.')} (try another --port, or --port 0 for any free one)");
            return null;
        }
    }

    private static void Log(string message)
    {
        Console.Out.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {message}");
        Console.Out.Flush();
    }
}
