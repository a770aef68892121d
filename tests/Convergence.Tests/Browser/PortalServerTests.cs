using System.Net;
using System.Text;
using AngleSharp.Html.Parser;
using Convergence.Status;
using Convergence.Tests.Infrastructure;
using Convergence.Tests.Status;

namespace Convergence.Tests.Browser;

/// <summary><c>convergence portal</c> over HTTP, as a real process.</summary>
[Collection(BrowserCollection.Name)]
public sealed class PortalServerTests : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(15) };

    [Fact]
    public async Task ServesWaitingPage_ThenTheStatusPageWithNotifyInjectedIntoHead()
    {
        var folder = Repo.NewTempFolder("portal-serve");
        using var portal = PortalProcess.Start(folder);

        var waiting = await _http.GetAsync(portal.Url);
        Assert.Equal(HttpStatusCode.OK, waiting.StatusCode);
        var waitingDoc = new HtmlParser().ParseDocument(await waiting.Content.ReadAsStringAsync());
        Assert.Equal("Waiting for the job", waitingDoc.Title);
        Assert.Equal("1", waitingDoc.QuerySelector("meta[http-equiv=refresh]")?.GetAttribute("content"));

        var page = StatusPage.Render(SampleSnapshots.Running());
        File.WriteAllText(Path.Combine(folder, "status.html"), page);
        var served = await _http.GetAsync(portal.Url);
        var html = await served.Content.ReadAsStringAsync();
        Assert.Equal("text/html", served.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'none'", served.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-store", served.Headers.CacheControl?.ToString());

        var doc = new HtmlParser().ParseDocument(html);
        var injected = doc.Head!.QuerySelector("script");
        Assert.NotNull(injected);
        Assert.Contains("window.notify_running_job = function", injected.TextContent, StringComparison.Ordinal);
        Assert.Equal(2, doc.Scripts.Length);
        var start = html.IndexOf("<head>", StringComparison.Ordinal) + "<head>".Length;
        var end = html.IndexOf("</script>", start, StringComparison.Ordinal) + "</script>".Length;
        Assert.Equal(page, html.Remove(start, end - start));
    }

    [Fact]
    public async Task Notify_AppendsMessagePlusNewline_AndRecreatesADeletedFile()
    {
        var folder = Repo.NewTempFolder("portal-append");
        using var portal = PortalProcess.Start(folder);

        Assert.False(File.Exists(portal.NotificationsFile));
        Assert.Equal(HttpStatusCode.OK, (await Post(portal, "ABORT #a1")).StatusCode);
        Assert.Equal("ABORT #a1\n", portal.Notifications());

        await Post(portal, "SET relaxation 1.3\nSTOP #b2");
        Assert.Equal("ABORT #a1\nSET relaxation 1.3\nSTOP #b2\n", portal.Notifications());

        // The job may delete or rename the file at any time; the next message re-creates it.
        File.Move(portal.NotificationsFile, portal.NotificationsFile + ".old");
        await Post(portal, "CHECKPOINT #c3");
        Assert.Equal("CHECKPOINT #c3\n", portal.Notifications());
        Assert.Contains("appended 15 bytes", portal.Process.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notify_ConcurrentMessages_EachLandsWholeOnce()
    {
        var folder = Repo.NewTempFolder("portal-concurrent");
        using var portal = PortalProcess.Start(folder);
        var messages = Enumerable.Range(0, 40).Select(i => $"SET p{i} {new string((char)('a' + (i % 26)), 300)} #m{i}").ToList();

        var responses = await Task.WhenAll(messages.Select(m => Post(portal, m)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var lines = portal.Notifications().Split('\n');
        Assert.Equal(string.Empty, lines[^1]);
        Assert.Equal(messages.Order(StringComparer.Ordinal), lines[..^1].Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Notify_RefusesOverLongMessagesWith413_AndAppendsNothing()
    {
        var folder = Repo.NewTempFolder("portal-limit");
        using var portal = PortalProcess.Start(folder, "--max-message-bytes", "64");

        var atLimit = new string('x', 64);
        Assert.Equal(HttpStatusCode.OK, (await Post(portal, atLimit)).StatusCode);
        var tooLong = await Post(portal, new string('y', 65));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLong.StatusCode);
        Assert.Equal("message refused: 65 bytes is longer than the limit of 64 bytes; nothing was appended\n", await tooLong.Content.ReadAsStringAsync());

        // Without a length up front (chunked), the portal stops reading one byte past the limit.
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(new string('z', 100_000))));
        chunked.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(portal.Url, "notify")) { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Add("X-Convergence-Notify", "1");
        var flood = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, flood.StatusCode);

        Assert.Equal(atLimit + "\n", portal.Notifications());
    }

    [Fact]
    public async Task RefusesWrongMethodsForeignOriginsAndUnknownPaths()
    {
        var folder = Repo.NewTempFolder("portal-refuse");
        using var portal = PortalProcess.Start(folder);
        var notify = new Uri(portal.Url, "notify");

        var get = await _http.GetAsync(notify);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal("POST", string.Join(",", get.Content.Headers.Allow));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _http.PostAsync(portal.Url, new StringContent("ABORT"))).StatusCode);

        // A plain form post from any web page would lack the header; a script elsewhere would carry its origin.
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.PostAsync(notify, new StringContent("ABORT"))).StatusCode);
        using var foreign = new HttpRequestMessage(HttpMethod.Post, notify) { Content = new StringContent("ABORT") };
        foreign.Headers.Add("X-Convergence-Notify", "1");
        foreign.Headers.Add("Origin", "http://example.com");
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.SendAsync(foreign)).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri(portal.Url, "favicon.ico"))).StatusCode);
        Assert.Equal(string.Empty, portal.Notifications());
    }

    [Fact]
    public void StopsCleanlyOnCtrlC()
    {
        var folder = Repo.NewTempFolder("portal-sigint");
        using var portal = PortalProcess.Start(folder);

        using (var kill = RunningProcess.Start("kill", ["-INT", portal.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            Assert.Equal(0, kill.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(0, portal.Process.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.Contains("convergence portal: stopped", portal.Process.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--host 0.0.0.0", "--host must be a loopback address")]
    [InlineData("--port 70000", "--port must be a whole number from 0 to 65535")]
    [InlineData("--port", "Required argument missing for option: '--port'")]
    [InlineData("--colour red", "Unrecognized command or argument '--colour'")]
    public void BadOptions_OneLineErrorAndExitCode2(string arguments, string expected)
    {
        var dll = Repo.Output("src/Convergence.Cli", "Convergence.Cli");
        using var process = RunningProcess.Dotnet(dll, ["portal", .. arguments.Split(' ')]);

        Assert.Equal(2, process.WaitForExit(TimeSpan.FromSeconds(30)));
        var error = Assert.Single(process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("convergence portal: " + expected, error, StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> Post(PortalProcess portal, string message)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(portal.Url, "notify"))
        {
            Content = new StringContent(message, Encoding.UTF8, "text/plain"),
        };
        request.Headers.Add("X-Convergence-Notify", "1");
        return await _http.SendAsync(request);
    }
}
