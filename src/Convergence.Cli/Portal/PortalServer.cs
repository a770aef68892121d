using System.Buffers.Text;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Convergence.Cli.Commands;
using Convergence.FileSystem;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Convergence.Cli.Portal;

/// <summary>
/// The SemWES portal on a laptop: serves a service folder's <c>status.html</c> with
/// <c>notify_running_job</c> injected, and appends each posted message plus <c>\n</c> to
/// <c>notifications.txt</c>. Listens on a loopback address only, on ASP.NET Core's Kestrel.
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
/// <para>
/// Those users can also connect without the secret and send slowly. Kestrel's limits bound what that costs
/// before any check of ours runs: the whole request header within <see cref="RequestHeadersTimeout"/> (an
/// idle timer alone is reset by every byte, so one byte every few seconds would hold a connection for
/// minutes), a minimum data rate for bodies and responses, an idle keep-alive limit, at most
/// <see cref="MaxConnections"/> connections, and a cap on the body size.
/// </para>
/// </remarks>
internal sealed class PortalServer : IDisposable
{
    /// <summary>How long a client may take to send a request's whole header, from its first byte or the previous response.</summary>
    internal static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long an idle kept-alive connection stays open (a status page reloads itself well within it).</summary>
    internal static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most connections open at once: far more than one user's browser and scripts need, far fewer than the
    /// descriptors a process may hold, so a flood of connections is refused before it exhausts them.
    /// </summary>
    internal const int MaxConnections = 512;

    private const string SecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

    private const string AuthorizationScheme = "token ";

    /// <summary>Of an over-long body, at most this much more is read before the 413, so the client sees the reason.</summary>
    private const long MaxDiscardedBytes = 1 << 20;

    /// <summary>Slower bodies and responses are cut off after a grace period (Kestrel's defaults, set here so they are stated).</summary>
    private static readonly MinDataRate MinimumDataRate = new(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));

    private readonly PortalOptions _options;
    private readonly Action<string> _log;
    private readonly byte[] _token;
    private WebApplication? _app;
    private Uri? _url;
    private string _cookieName = string.Empty;
    private HashSet<string> _allowedHosts = [];
    private volatile bool _started;
    private int _warnedNoHead;
    private string? _pageRefusal;

    private PortalServer(PortalOptions options, Action<string> log, string token)
    {
        _options = options;
        _log = log;
        Token = token;
        _token = Encoding.ASCII.GetBytes(token);
    }

    /// <summary>Where the status page is served (without the secret).</summary>
    public Uri Url => _url ?? throw new InvalidOperationException("the portal is not started");

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

    /// <summary>Starts listening; a port of 0 lets the system pick a free one, and <see cref="Url"/> names it.</summary>
    /// <exception cref="IOException">The port cannot be bound (e.g. it is taken).</exception>
    public static PortalServer Start(PortalOptions options, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(options);
        var server = new PortalServer(options, log, options.Token ?? NewToken());
        try
        {
            server.Listen();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Serves requests until <paramref name="stop"/> is cancelled, then lets requests under way finish.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var app = _app ?? throw new InvalidOperationException("the portal is not started");
        try
        {
            await Task.Delay(Timeout.Infinite, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(grace.Token).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_app is { } app)
        {
            _app = null;
            ((IDisposable)app).Dispose();
        }
    }

    private void Listen()
    {
        // The empty builder: no configuration files or environment variables read, no logging providers (the
        // tool prints its own lines), no routing, no static files; only Kestrel and the one handler below.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "convergence-portal" });
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var limits = kestrel.Limits;
            limits.RequestHeadersTimeout = RequestHeadersTimeout;
            limits.KeepAliveTimeout = KeepAliveTimeout;
            limits.MaxConcurrentConnections = MaxConnections;
            limits.MaxConcurrentUpgradedConnections = 0;
            limits.MaxRequestBodySize = _options.MaxMessageBytes + MaxDiscardedBytes;
            limits.MinRequestBodyDataRate = MinimumDataRate;
            limits.MinResponseDataRate = MinimumDataRate;
            limits.MaxRequestHeadersTotalSize = 16 * 1024;
            limits.MaxRequestLineSize = 8 * 1024;
            kestrel.Listen(_options.Address, _options.Port, listen => listen.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        _app = app;
        app.Run(HandleAsync);
        app.StartAsync().GetAwaiter().GetResult();

        // The bound port is known only now when 0 was asked for; requests before this line are answered 503.
        var port = new Uri(app.Urls.Single()).Port;
        var host = _options.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{_options.Address}]" : _options.Address.ToString();
        _url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}/"));
        _cookieName = string.Create(CultureInfo.InvariantCulture, $"convergence-portal-{port}");
        var allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            string.Create(CultureInfo.InvariantCulture, $"{host}:{port}"),
            string.Create(CultureInfo.InvariantCulture, $"localhost:{port}"),
        };
        foreach (var extra in _options.ExtraAllowedHosts)
        {
            allowed.Add(HasPort(extra) ? extra : string.Create(CultureInfo.InvariantCulture, $"{extra}:{port}"));
        }

        _allowedHosts = allowed;
        _started = true;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            response.Headers.CacheControl = "no-store";
            response.Headers.XContentTypeOptions = "nosniff";
            response.Headers["Referrer-Policy"] = "no-referrer";
            if (!_started)
            {
                await TextAsync(response, 503, "the portal is starting; try again").ConfigureAwait(false);
                return;
            }

            var hostHeader = request.Headers.Host.ToString();
            if (!_allowedHosts.Contains(hostHeader))
            {
                await TextAsync(response, 403, $"refused: this portal does not answer to Host '{hostHeader}' (allowed: {string.Join(", ", _allowedHosts.Order(StringComparer.Ordinal))}); open the URL it printed, or add --allow-host").ConfigureAwait(false);
                return;
            }

            var path = request.Path.Value is { Length: > 0 } p ? p : "/";
            switch (Authorize(request))
            {
                case Access.Refused:
                    await TextAsync(response, 403, $"refused: this portal needs the secret it printed when it started: open that URL ({Url}?token=…) in your browser, or send the header 'Authorization: token …'; nothing was done").ConfigureAwait(false);
                    return;
                case Access.ByQuery when request.Method is "GET" or "HEAD" && path is "/" or "/status.html":
                    // The token leaves the address bar (and the history): from now on the cookie carries it.
                    response.Headers.Append("Set-Cookie", $"{_cookieName}={Token}; Path=/; HttpOnly; SameSite=Strict");
                    response.StatusCode = 303;
                    response.Headers.Location = path;
                    return;
            }

            switch (path)
            {
                case "/" or "/status.html":
                    if (request.Method is not ("GET" or "HEAD"))
                    {
                        await TextAsync(response, 405, $"{request.Method} is not allowed here: the status page is read with GET", "GET, HEAD").ConfigureAwait(false);
                        return;
                    }

                    await ServeStatusAsync(request, response).ConfigureAwait(false);
                    return;
                case PortalPages.NotifyPath:
                    if (request.Method != "POST")
                    {
                        await TextAsync(response, 405, $"{request.Method} is not allowed here: send messages with POST", "POST").ConfigureAwait(false);
                        return;
                    }

                    await NotifyAsync(request, response).ConfigureAwait(false);
                    return;
                default:
                    await TextAsync(response, 404, $"nothing at {path}: the status page is at /").ConfigureAwait(false);
                    return;
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
        {
            // Kestrel's own limits (too slow, too large): the connection is closed after this.
            _log($"refused {request.Method} {request.Path}: {ex.Message}");
            if (!response.HasStarted)
            {
                await TextAsync(response, ex.StatusCode, $"refused: {ex.Message}").ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException or InvalidOperationException)
        {
            _log($"error: {request.Method} {request.Path}: {ex.Message}");
            if (!response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                await TextAsync(response, 500, $"portal error: {ex.Message}").ConfigureAwait(false);
            }
        }
    }

    private async Task ServeStatusAsync(HttpRequest request, HttpResponse response)
    {
        string? page;
        try
        {
            // The job replaces the file by rename, so one read sees one whole version.
            page = await ServiceFile.ReadAllTextAsync(StatusFile, "the job writes", request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (DirectoryNotFoundException)
        {
            page = null;
        }
        catch (NotARegularFileException ex)
        {
            // Someone put a link or a FIFO where the job writes its page: neither followed nor waited on.
            // Logged when it starts or changes, not on each of the page's reloads.
            if (Interlocked.Exchange(ref _pageRefusal, ex.Message) != ex.Message)
            {
                _log(ex.Message);
            }

            await TextAsync(response, 409, ex.Message).ConfigureAwait(false);
            return;
        }

        string html;
        if (page is null)
        {
            html = PortalPages.Waiting(StatusFile);
        }
        else
        {
            html = PortalPages.Inject(page, out var injected);
            if (!injected && Interlocked.Exchange(ref _warnedNoHead, 1) == 0)
            {
                _log($"warning: {StatusFile} has no <head>, so notify_running_job cannot be injected (the SemWES service cannot inject it either)");
            }
        }

        var bytes = Encoding.UTF8.GetBytes(html);
        response.StatusCode = 200;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.ContentSecurityPolicy = SecurityPolicy;
        response.ContentLength = bytes.Length;
        if (request.Method != "HEAD")
        {
            await response.Body.WriteAsync(bytes, request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task NotifyAsync(HttpRequest request, HttpResponse response)
    {
        if (!request.Headers.ContainsKey(PortalPages.NotifyHeader))
        {
            await TextAsync(response, 403, $"refused: messages must come from the status page served here (header {PortalPages.NotifyHeader} missing)").ConfigureAwait(false);
            return;
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !string.Equals(origin.TrimEnd('/'), Url.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            await TextAsync(response, 403, $"refused: messages from {origin} are not accepted, only from {Url.GetLeftPart(UriPartial.Authority)}").ConfigureAwait(false);
            return;
        }

        var limit = _options.MaxMessageBytes;
        var body = request.Body;
        var aborted = request.HttpContext.RequestAborted;
        if (request.ContentLength > limit)
        {
            if (request.ContentLength <= MaxDiscardedBytes)
            {
                await DiscardAsync(body, new byte[16 * 1024], aborted).ConfigureAwait(false);
            }

            await RefuseAsync(response, request.ContentLength.Value, limit).ConfigureAwait(false);
            return;
        }

        // Read at most one byte past the limit: enough to know it is too long, without buffering a flood.
        var buffer = new byte[limit + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), aborted).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        if (length > limit)
        {
            await DiscardAsync(body, buffer, aborted).ConfigureAwait(false);
            await RefuseAsync(response, request.ContentLength ?? length, limit).ConfigureAwait(false);
            return;
        }

        var line = new byte[length + 1];
        buffer.AsSpan(0, length).CopyTo(line);
        line[^1] = (byte)'\n';
        try
        {
            AtomicAppend.Write(NotificationsFile, line);
        }
        catch (NotARegularFileException ex)
        {
            // Someone put a link or a FIFO where the job reads: say so to the page and the terminal, append nothing.
            var text = ex.Message + "; nothing was appended";
            _log(text);
            await TextAsync(response, 409, text).ConfigureAwait(false);
            return;
        }

        var shown = Encoding.UTF8.GetString(buffer, 0, length).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);
        _log(string.Create(CultureInfo.InvariantCulture, $"appended {length + 1} bytes to {NotificationsFile}: {shown}"));
        await TextAsync(response, 200, string.Create(CultureInfo.InvariantCulture, $"appended {length + 1} bytes to notifications.txt")).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads and throws away up to <see cref="MaxDiscardedBytes"/> of the rest of a refused body: a client still
    /// sending when the connection closes gets a broken pipe instead of the reason. A larger flood is cut off.
    /// </summary>
    private static async Task DiscardAsync(Stream body, byte[] buffer, CancellationToken aborted)
    {
        var discarded = 0L;
        int read;
        while (discarded < MaxDiscardedBytes && (read = await body.ReadAsync(buffer, aborted).ConfigureAwait(false)) > 0)
        {
            discarded += read;
        }
    }

    private async Task RefuseAsync(HttpResponse response, long size, int limit)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"message refused: {(size > limit ? $"{size} bytes" : "it")} is longer than the limit of {limit} bytes; nothing was appended");
        _log(text);
        await TextAsync(response, 413, text).ConfigureAwait(false);
    }

    private static async Task TextAsync(HttpResponse response, int status, string text, string? allow = null)
    {
        var bytes = Encoding.UTF8.GetBytes(text + "\n");
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        if (allow is not null)
        {
            response.Headers.Allow = allow;
        }

        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, response.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>How a request proved it knows the secret.</summary>
    private enum Access
    {
        Refused,
        ByQuery,
        ByCookieOrHeader,
    }

    private Access Authorize(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith(AuthorizationScheme, StringComparison.OrdinalIgnoreCase) && IsToken(header[AuthorizationScheme.Length..].Trim()))
        {
            return Access.ByCookieOrHeader;
        }

        if (request.Cookies.TryGetValue(_cookieName, out var cookie) && IsToken(cookie))
        {
            return Access.ByCookieOrHeader;
        }

        return request.Query.TryGetValue("token", out var query) && query.Count == 1 && IsToken(query[0] ?? string.Empty) ? Access.ByQuery : Access.Refused;
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

    /// <summary>
    /// The command handles Ctrl+C and SIGTERM itself (<c>PortalCommand</c>) and stops the server; the host's
    /// default console lifetime would register handlers of its own and print nothing useful.
    /// </summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
