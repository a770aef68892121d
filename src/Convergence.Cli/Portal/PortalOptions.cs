using System.Globalization;
using System.Net;

namespace Convergence.Cli.Portal;

/// <summary>Settings of <c>convergence portal</c>; the tool's parser (<c>PortalCommand</c>) checks each value with the validators here.</summary>
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

    /// <summary>
    /// The per-run secret every request must carry (in the printed URL, then a cookie); null: a random one
    /// is made at start.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>
    /// Extra <c>Host</c> header values accepted besides the bound address and <c>localhost</c> on the
    /// portal's port, as <c>name</c> or <c>name:port</c> (an SSH tunnel's <c>localhost:9000</c>).
    /// </summary>
    public IReadOnlyList<string> ExtraAllowedHosts { get; init; } = [];

    /// <summary>What a secret may be made of, in words.</summary>
    internal const string SecretRule = "at least 16 characters of letters, digits, '-', '_', '.' or '~'";

    /// <summary>Checks a secret given with <c>--token</c>; throws <see cref="FormatException"/> with a one-line message.</summary>
    internal static string Secret(string token) =>
        IsSecret(token)
            ? token
            : throw new FormatException($"--token must be {SecretRule} (or leave it out for a random one)");

    /// <summary>True when <paramref name="token"/> is long enough and safe in a URL, a cookie and a header as it is.</summary>
    internal static bool IsSecret(string token) =>
        token.Length >= 16 && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~');

    /// <summary>Checks a <c>--allow-host</c> value; throws <see cref="FormatException"/> with a one-line message.</summary>
    internal static string HostName(string host)
    {
        var colon = host.LastIndexOf(':');
        var hasPort = colon > 0 && !host.EndsWith(']');
        var name = hasPort ? host[..colon] : host;
        var port = hasPort ? host[(colon + 1)..] : null;

        // Names the listener routes on its loopback port: the tunnel case (ssh -L 9000:127.0.0.1:8765).
        var loopback = name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(name.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
        return loopback && (port is null || (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535))
            ? host.ToLowerInvariant()
            : throw new FormatException($"--allow-host needs localhost or a loopback address with an optional port, such as localhost:9000, got '{host}'");
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
