using System.Globalization;
using System.Net;

namespace Convergence.Cli.Portal;

/// <summary>Settings of <c>convergence portal</c>, validated when parsed.</summary>
internal sealed record PortalOptions
{
    /// <summary>The port used when none is given.</summary>
    public const int DefaultPort = 8765;

    /// <summary>The largest message accepted, in bytes; larger ones get HTTP 413.</summary>
    public const int DefaultMaxMessageBytes = 4096;

    /// <summary>The service folder whose <c>status.html</c> is served and whose <c>notifications.txt</c> is appended to.</summary>
    public required string ServiceDirectory { get; init; }

    /// <summary>The loopback address to listen on.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The TCP port; 0 picks a free one.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The largest message accepted, in bytes.</summary>
    public int MaxMessageBytes { get; init; } = DefaultMaxMessageBytes;

    /// <summary>The options' help text.</summary>
    public static string Help => """
        usage: convergence portal [--service DIR] [--port N] [--host 127.0.0.1] [--max-message-bytes N]
          Serves DIR/status.html on http://HOST:PORT/ with notify_running_job() injected, as the SemWES
          portal does, and appends every message the page sends (plus "\n") to DIR/notifications.txt.
          --service DIR            service folder (default: $CONVERGENCE_SERVICE_DIR, else /service)
          --port N                 TCP port, 0 for any free one (default 8765)
          --host ADDRESS           loopback address to bind: 127.0.0.1 (default), ::1 or localhost
          --max-message-bytes N    refuse longer messages with HTTP 413 (default 4096)
        """;

    /// <summary>Parses the command line; throws <see cref="FormatException"/> with a one-line message.</summary>
    public static PortalOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var service = environment("CONVERGENCE_SERVICE_DIR");
        var address = IPAddress.Loopback;
        var port = DefaultPort;
        var max = DefaultMaxMessageBytes;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inline = null;
            var eq = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
            if (eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 >= args.Count)
                {
                    throw new FormatException($"{arg} needs a value");
                }

                return args[++i];
            }

            switch (arg)
            {
                case "--service":
                    service = Value();
                    break;
                case "--port":
                    port = Number(arg, Value(), 0, 65535);
                    break;
                case "--host":
                    address = Loopback(Value());
                    break;
                case "--max-message-bytes":
                    max = Number(arg, Value(), 1, 1 << 20);
                    break;
                default:
                    throw new FormatException($"unknown option '{arg}'");
            }
        }

        service = string.IsNullOrWhiteSpace(service) ? "/service" : service;
        return new PortalOptions { ServiceDirectory = Path.GetFullPath(service), Address = address, Port = port, MaxMessageBytes = max };
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; throws <see cref="FormatException"/> naming <paramref name="option"/>.</summary>
    internal static int Number(string option, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new FormatException($"{option} must be a whole number from {min} to {max}, got '{text}'");

    /// <summary>The loopback address <paramref name="host"/> names; throws <see cref="FormatException"/> for any other.</summary>
    internal static IPAddress Loopback(string host)
    {
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        // The portal appends to the job's notifications file for anyone who can reach it: never off this machine.
        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address)
            ? address
            : throw new FormatException($"--host must be a loopback address (127.0.0.1, ::1 or localhost), got '{host}': the portal must not be reachable from other machines");
    }
}
