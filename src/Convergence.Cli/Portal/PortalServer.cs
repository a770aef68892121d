using System.Globalization;
using System.Net;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Convergence.Cli.Commands;

namespace Convergence.Cli.Portal;

/// <summary>
/// The SemWES portal on a laptop: serves a service folder's <c>status.html</c> with
/// <c>notify_running_job</c> injected, and appends each posted message plus <c>\n</c> to
/// <c>notifications.txt</c>. Listens on a loopback address only.
/// </summary>
/// <remarks>
/// <para>Requests are handled concurrently; appends are single O_APPEND writes, so they never interleave.</para>
/// <para>
/// Other users of a shared login node reach the same loopback address, so every request must carry the
/// run's secret (<see cref="Token"/>, printed once in <see cref="LoginUrl"/>): as <c>?token=</c> (the first
/// page load, which is answered with a cookie and a redirect to the URL without it), as the cookie, or as
/// <c>Authorization: token …</c> (scripts). It is compared in constant time. Requests whose <c>Host</c> is
/// not on the allow-list (the bound address and <c>localhost</c> on this port, plus
/// <see cref="PortalOptions.ExtraAllowedHosts"/>) are refused before anything else: DNS rebinding.
/// </para>
/// </remarks>
internal sealed class PortalServer : IDisposable
{
    private const string SecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

    private const string AuthorizationScheme = "token ";

    /// <summary>Of an over-long body without a length up front, at most this much more is read before the 413.</summary>
    private const long MaxDiscardedBytes = 1 << 20;

    private readonly PortalOptions _options;
    private readonly Action<string> _log;
    private readonly HttpListener _listener;
    private readonly byte[] _token;
    private readonly string _cookieName;
    private readonly HashSet<string> _allowedHosts;
    private bool _warnedNoHead;

    private PortalServer(PortalOptions options, Action<string> log, HttpListener listener, Uri url, string token, HashSet<string> allowedHosts)
    {
        _options = options;
        _log = log;
        _listener = listener;
        Url = url;
        Token = token;
        _token = Encoding.ASCII.GetBytes(token);
        _cookieName = string.Create(CultureInfo.InvariantCulture, $"convergence-portal-{url.Port}");
        _allowedHosts = allowedHosts;
    }

    /// <summary>Where the status page is served (without the secret).</summary>
    public Uri Url { get; }

    /// <summary>The run's secret.</summary>
    public string Token { get; }

    /// <summary>The URL to open: <see cref="Url"/> with the secret, printed once at start.</summary>
    public Uri LoginUrl => new(Url, "?token=" + Token);

    /// <summary>The <c>Host</c> header values answered, as <c>name:port</c>.</summary>
    public IReadOnlyCollection<string> AllowedHosts => _allowedHosts;

    /// <summary>The status page served.</summary>
    public string StatusFile => Path.Combine(_options.ServiceDirectory, "status.html");

    /// <summary>The file messages are appended to.</summary>
    public string NotificationsFile => Path.Combine(_options.ServiceDirectory, "notifications.txt");

    /// <summary>Starts listening; a port of 0 picks a free one.</summary>
    /// <exception cref="HttpListenerException">The port cannot be bound (e.g. it is taken).</exception>
    public static PortalServer Start(PortalOptions options, Action<string> log)
    {
        var token = options.Token ?? NewToken();
        var attempts = options.Port == 0 ? 5 : 1;
        for (var attempt = 1; ; attempt++)
        {
            var port = options.Port == 0 ? FreePort(options.Address) : options.Port;
            var host = options.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{options.Address}]" : options.Address.ToString();
            var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}/"));
            var allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
            {
                string.Create(CultureInfo.InvariantCulture, $"{host}:{port}"),
                string.Create(CultureInfo.InvariantCulture, $"localhost:{port}"),
            };
            foreach (var extra in options.ExtraAllowedHosts)
            {
                allowed.Add(HasPort(extra) ? extra : string.Create(CultureInfo.InvariantCulture, $"{extra}:{port}"));
            }

            var listener = new HttpListener { IgnoreWriteExceptions = true };
            listener.Prefixes.Add(url.ToString());

            // The listener routes by host name on the bound port; the exact name:port check is ours (Handle).
            // Only names it already resolves to the bound endpoint are added, so nothing binds elsewhere.
            listener.Prefixes.Add(string.Create(CultureInfo.InvariantCulture, $"http://localhost:{port}/"));
            try
            {
                listener.Start();
                return new PortalServer(options, log, listener, url, token, allowed);
            }
            catch (HttpListenerException) when (attempt < attempts)
            {
                // Someone took the free port between our probe and the bind: probe again.
                listener.Close();
            }
        }
    }

    /// <summary>Serves requests until <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        using var registration = stop.Register(() => _listener.Stop());
        var running = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            running.RemoveAll(t => t.IsCompleted);
            running.Add(Task.Run(() => Handle(context), CancellationToken.None));
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Close();

    private void Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            response.Headers["Cache-Control"] = "no-store";
            response.Headers["X-Content-Type-Options"] = "nosniff";
            response.Headers["Referrer-Policy"] = "no-referrer";
            var hostHeader = request.Headers["Host"] ?? string.Empty;
            if (!_allowedHosts.Contains(hostHeader))
            {
                Text(response, 403, $"refused: this portal does not answer to Host '{hostHeader}' (allowed: {string.Join(", ", _allowedHosts.Order(StringComparer.Ordinal))}); open the URL it printed, or add --allow-host");
                return;
            }

            var path = request.Url?.AbsolutePath ?? "/";
            switch (Authorize(request))
            {
                case Access.Refused:
                    Text(response, 403, $"refused: this portal needs the secret it printed when it started: open that URL ({Url}?token=…) in your browser, or send the header 'Authorization: token …'; nothing was done");
                    return;
                case Access.ByQuery when request.HttpMethod is "GET" or "HEAD" && path is "/" or "/status.html":
                    // The token leaves the address bar (and the history): from now on the cookie carries it.
                    response.Headers.Add("Set-Cookie", $"{_cookieName}={Token}; Path=/; HttpOnly; SameSite=Strict");
                    response.StatusCode = 303;
                    response.RedirectLocation = path;
                    return;
            }

            switch (path)
            {
                case "/" or "/status.html":
                    if (request.HttpMethod is not ("GET" or "HEAD"))
                    {
                        Text(response, 405, $"{request.HttpMethod} is not allowed here: the status page is read with GET", "GET, HEAD");
                        return;
                    }

                    ServeStatus(request, response);
                    return;
                case PortalPages.NotifyPath:
                    if (request.HttpMethod != "POST")
                    {
                        Text(response, 405, $"{request.HttpMethod} is not allowed here: send messages with POST", "POST");
                        return;
                    }

                    Notify(request, response);
                    return;
                default:
                    Text(response, 404, $"nothing at {path}: the status page is at /");
                    return;
            }
        }
        catch (Exception ex)
        {
            _log($"error: {request.HttpMethod} {request.Url?.AbsolutePath}: {ex.Message}");
            try
            {
                Text(response, 500, $"portal error: {ex.Message}");
            }
            catch (Exception)
            {
                // The response was already under way or the client went away: nothing more to say.
            }
        }
        finally
        {
            response.Close();
        }
    }

    private void ServeStatus(HttpListenerRequest request, HttpListenerResponse response)
    {
        string? page = null;
        try
        {
            // The job replaces the file by rename, so one read sees one whole version.
            page = File.ReadAllText(StatusFile, Encoding.UTF8);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
        }

        string html;
        if (page is null)
        {
            html = PortalPages.Waiting(StatusFile);
        }
        else
        {
            html = PortalPages.Inject(page, out var injected);
            if (!injected && !_warnedNoHead)
            {
                _warnedNoHead = true;
                _log($"warning: {StatusFile} has no <head>, so notify_running_job cannot be injected (the SemWES service cannot inject it either)");
            }
        }

        var bytes = Encoding.UTF8.GetBytes(html);
        response.StatusCode = 200;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers["Content-Security-Policy"] = SecurityPolicy;
        response.ContentLength64 = bytes.Length;
        if (request.HttpMethod != "HEAD")
        {
            response.OutputStream.Write(bytes);
        }
    }

    private void Notify(HttpListenerRequest request, HttpListenerResponse response)
    {
        if (request.Headers[PortalPages.NotifyHeader] is null)
        {
            Text(response, 403, $"refused: messages must come from the status page served here (header {PortalPages.NotifyHeader} missing)");
            return;
        }

        var origin = request.Headers["Origin"];
        if (origin is not null && !string.Equals(origin.TrimEnd('/'), Url.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            Text(response, 403, $"refused: messages from {origin} are not accepted, only from {Url.GetLeftPart(UriPartial.Authority)}");
            return;
        }

        var limit = _options.MaxMessageBytes;
        if (request.ContentLength64 > limit)
        {
            if (request.ContentLength64 <= MaxDiscardedBytes)
            {
                Discard(request.InputStream, new byte[16 * 1024]);
            }

            Refuse(response, request.ContentLength64, limit);
            return;
        }

        // Read at most one byte past the limit: enough to know it is too long, without buffering a flood.
        var buffer = new byte[limit + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = request.InputStream.Read(buffer, length, buffer.Length - length)) > 0)
        {
            length += read;
        }

        if (length > limit)
        {
            Discard(request.InputStream, buffer);
            Refuse(response, request.ContentLength64 > 0 ? request.ContentLength64 : length, limit);
            return;
        }

        var message = buffer.AsSpan(0, length);
        var line = new byte[length + 1];
        message.CopyTo(line);
        line[^1] = (byte)'\n';
        AtomicAppend.Write(NotificationsFile, line);
        var shown = Encoding.UTF8.GetString(message).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);
        _log(string.Create(CultureInfo.InvariantCulture, $"appended {length + 1} bytes to {NotificationsFile}: {shown}"));
        Text(response, 200, string.Create(CultureInfo.InvariantCulture, $"appended {length + 1} bytes to notifications.txt"));
    }

    /// <summary>
    /// Reads and throws away up to <see cref="MaxDiscardedBytes"/> of the rest of a refused body: a client still
    /// sending when the connection closes gets a broken pipe instead of the reason. A larger flood is cut off.
    /// </summary>
    private static void Discard(Stream body, byte[] buffer)
    {
        var discarded = 0L;
        int read;
        while (discarded < MaxDiscardedBytes && (read = body.Read(buffer, 0, buffer.Length)) > 0)
        {
            discarded += read;
        }
    }

    private void Refuse(HttpListenerResponse response, long size, int limit)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"message refused: {(size > limit ? $"{size} bytes" : "it")} is longer than the limit of {limit} bytes; nothing was appended");
        _log(text);
        Text(response, 413, text);
    }

    private static void Text(HttpListenerResponse response, int status, string text, string? allow = null)
    {
        var bytes = Encoding.UTF8.GetBytes(text + "\n");
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        if (allow is not null)
        {
            response.Headers["Allow"] = allow;
        }

        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }

    /// <summary>How a request proved it knows the secret.</summary>
    private enum Access
    {
        Refused,
        ByQuery,
        ByCookieOrHeader,
    }

    private Access Authorize(HttpListenerRequest request)
    {
        var header = request.Headers["Authorization"];
        if (header is not null && header.StartsWith(AuthorizationScheme, StringComparison.OrdinalIgnoreCase) && IsToken(header[AuthorizationScheme.Length..].Trim()))
        {
            return Access.ByCookieOrHeader;
        }

        if (request.Cookies[_cookieName] is { } cookie && IsToken(cookie.Value))
        {
            return Access.ByCookieOrHeader;
        }

        return request.QueryString["token"] is { } query && IsToken(query) ? Access.ByQuery : Access.Refused;
    }

    /// <summary>Constant-time comparison: how long a wrong guess takes says nothing about how close it was.</summary>
    private bool IsToken(string candidate) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), _token);

    private static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static bool HasPort(string host)
    {
        var colon = host.LastIndexOf(':');
        return colon > 0 && !host.EndsWith(']');
    }

    private static int FreePort(IPAddress address)
    {
        using var probe = new TcpListener(address, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
