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
        using var request = portal.Request(HttpMethod.Post, "notify");
        request.Content = chunked;
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
        using var getRequest = portal.Request(HttpMethod.Get, "notify");
        var get = await _http.SendAsync(getRequest);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal("POST", string.Join(",", get.Content.Headers.Allow));
        using (var postPage = portal.Request(HttpMethod.Post, "/"))
        {
            postPage.Content = new StringContent("ABORT");
            Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _http.SendAsync(postPage)).StatusCode);
        }

        // A plain form post from any web page would lack the header; a script elsewhere would carry its origin.
        using (var plain = portal.Request(HttpMethod.Post, "notify"))
        {
            plain.Content = new StringContent("ABORT");
            Assert.Equal(HttpStatusCode.Forbidden, (await _http.SendAsync(plain)).StatusCode);
        }

        using var foreign = portal.Request(HttpMethod.Post, "notify");
        foreign.Content = new StringContent("ABORT");
        foreign.Headers.Add("X-Convergence-Notify", "1");
        foreign.Headers.Add("Origin", "http://example.com");
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.SendAsync(foreign)).StatusCode);

        using var unknown = portal.Request(HttpMethod.Get, "favicon.ico");
        Assert.Equal(HttpStatusCode.NotFound, (await _http.SendAsync(unknown)).StatusCode);
        Assert.Equal(string.Empty, portal.Notifications());
    }

    [Fact]
    public async Task WithoutTheSecret_EveryRequestIs403WithAClearBody_AndNothingIsAppended()
    {
        var folder = Repo.NewTempFolder("portal-secret-missing");
        File.WriteAllText(Path.Combine(folder, "status.html"), StatusPage.Render(SampleSnapshots.Running()));
        using var portal = PortalProcess.Start(folder);
        Assert.True(portal.BaseUrl.Port > 0, portal.Url.ToString());
        var notify = new Uri(portal.BaseUrl, "notify");
        var expected = $"refused: this portal needs the secret it printed when it started: open that URL ({portal.BaseUrl}?token=…) in your browser, or send the header 'Authorization: token …'; nothing was done\n";

        // What another user of the login node can do: the header the page sends, but not the secret.
        using var curl = new HttpRequestMessage(HttpMethod.Post, notify) { Content = new StringContent("ABORT") };
        curl.Headers.Add("X-Convergence-Notify", "1");
        var refused = await _http.SendAsync(curl);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(expected, await refused.Content.ReadAsStringAsync());

        var page = await _http.GetAsync(portal.BaseUrl);
        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        Assert.Equal(expected, await page.Content.ReadAsStringAsync());

        // A wrong secret, of the right length and of another, in each place a secret is looked for.
        var wrong = new string('A', portal.Token.Length);
        foreach (var guess in new[] { wrong, portal.Token[..^1], portal.Token + "x", string.Empty })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync(new Uri(portal.BaseUrl, "?token=" + guess))).StatusCode);
            using var header = new HttpRequestMessage(HttpMethod.Post, notify) { Content = new StringContent("STOP") };
            header.Headers.Add("X-Convergence-Notify", "1");
            header.Headers.TryAddWithoutValidation("Authorization", "token " + guess);
            header.Headers.TryAddWithoutValidation("Cookie", $"convergence-portal-{portal.BaseUrl.Port}={guess}");
            Assert.Equal(HttpStatusCode.Forbidden, (await _http.SendAsync(header)).StatusCode);
        }

        Assert.Equal(string.Empty, portal.Notifications());
    }

    [Fact]
    public async Task WithTheSecret_PrintedUrlSetsACookie_ThenPageAndNotifyAre200()
    {
        var folder = Repo.NewTempFolder("portal-secret");
        File.WriteAllText(Path.Combine(folder, "status.html"), StatusPage.Render(SampleSnapshots.Running()));
        using var portal = PortalProcess.Start(folder);
        using var browserLike = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(15) };

        // The printed URL answers with the cookie and sends the browser to the same page without the secret.
        var first = await browserLike.GetAsync(portal.Url);
        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);
        Assert.Equal("/", first.Headers.Location?.OriginalString);
        var cookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
        Assert.Equal($"convergence-portal-{portal.BaseUrl.Port}={portal.Token}; Path=/; HttpOnly; SameSite=Strict", cookie);
        var pair = cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];

        using var page = new HttpRequestMessage(HttpMethod.Get, portal.BaseUrl);
        page.Headers.TryAddWithoutValidation("Cookie", pair);
        var served = await browserLike.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Contains("window.notify_running_job", await served.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var click = new HttpRequestMessage(HttpMethod.Post, new Uri(portal.BaseUrl, "notify")) { Content = new StringContent("STOP #c1") };
        click.Headers.Add("X-Convergence-Notify", "1");
        click.Headers.TryAddWithoutValidation("Cookie", pair);
        Assert.Equal(HttpStatusCode.OK, (await browserLike.SendAsync(click)).StatusCode);

        // A script sends the secret as a header.
        using var script = portal.Request(HttpMethod.Post, "notify");
        script.Content = new StringContent("CHECKPOINT #s1");
        script.Headers.Add("X-Convergence-Notify", "1");
        Assert.Equal(HttpStatusCode.OK, (await browserLike.SendAsync(script)).StatusCode);

        Assert.Equal("STOP #c1\nCHECKPOINT #s1\n", portal.Notifications());

        // Printed once: at start, and never in the log lines that follow.
        Assert.Equal(1, CountOf(portal.Process.Stdout, portal.Token));
    }

    [Fact]
    public async Task HostAllowList_AnswersTheBoundAddressLocalhostAndListedNamesOnly()
    {
        var folder = Repo.NewTempFolder("portal-hosts");
        using var portal = PortalProcess.Start(folder, "--allow-host", "localhost:9000");
        var port = portal.BaseUrl.Port;

        async Task<(HttpStatusCode Status, string Body)> WithHost(string host)
        {
            using var request = portal.Request(HttpMethod.Get, "/");
            request.Headers.Host = host;
            using var response = await _http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.OK, (await WithHost($"127.0.0.1:{port}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await WithHost($"localhost:{port}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await WithHost("localhost:9000")).Status);

        // Another port, no port, an unlisted tunnel port: refused with the list of what is answered.
        var allowed = string.Join(", ", new[] { $"127.0.0.1:{port}", $"localhost:{port}", "localhost:9000" }.Order(StringComparer.Ordinal));
        var (status, body) = await WithHost("127.0.0.1:1");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal($"refused: this portal does not answer to Host '127.0.0.1:1' (allowed: {allowed}); open the URL it printed, or add --allow-host\n", body);
        Assert.Equal(HttpStatusCode.Forbidden, (await WithHost("127.0.0.1")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await WithHost("localhost:9001")).Status);

        // A name that rebinds to 127.0.0.1 never gets the page (the listener itself answers 404 for unknown names).
        Assert.NotEqual(HttpStatusCode.OK, (await WithHost($"attacker.example:{port}")).Status);
        Assert.Equal(string.Empty, portal.Notifications());
        Assert.Equal(string.Empty, portal.Notifications());
    }

    [Fact]
    public async Task Notify_ToASymlinkedNotificationsFile_IsRefusedWithTheReason_AndTheTargetIsUntouched()
    {
        var folder = Repo.NewTempFolder("portal-link");
        using var portal = PortalProcess.Start(folder);
        var target = Path.Combine(Repo.NewTempFolder("portal-victim"), "thesis.tex");
        File.WriteAllText(target, "keep me\n");
        File.CreateSymbolicLink(portal.NotificationsFile, target);

        var refused = await Post(portal, "STOP");

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var reason = $"refused: {portal.NotificationsFile} is a symbolic link; the job reads only a regular file there; nothing was appended";
        Assert.Equal(reason + "\n", await refused.Content.ReadAsStringAsync());
        Assert.Equal("keep me\n", File.ReadAllText(target));
        Assert.Contains(reason, portal.Process.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStatusPageThatIsALinkOrAFifo_IsRefusedAtOnce_AndNotServed()
    {
        var folder = Repo.NewTempFolder("portal-page-link");
        using var portal = PortalProcess.Start(folder);
        var status = Path.Combine(folder, "status.html");
        var target = Path.Combine(Repo.NewTempFolder("portal-victim"), "private.html");
        File.WriteAllText(target, "<html><head></head><body>private</body></html>");
        File.CreateSymbolicLink(status, target);

        using (var link = portal.Request(HttpMethod.Get, "/"))
        {
            using var response = await _http.SendAsync(link);
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal($"refused: {status} is a symbolic link; the job writes only a regular file there\n", await response.Content.ReadAsStringAsync());
        }

        // Opening a FIFO for reading blocks until someone writes to it: every page load would hang.
        File.Delete(status);
        using (var mkfifo = RunningProcess.Start("mkfifo", [status]))
        {
            Assert.Equal(0, mkfifo.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        using (var fifo = portal.Request(HttpMethod.Get, "/"))
        {
            using var response = await _http.SendAsync(fifo);
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal($"refused: {status} is not a regular file (a FIFO); the job writes only a regular file there\n", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task TheSecret_CanComeFromAFileOrTheEnvironment_InsteadOfTheCommandLine()
    {
        var folder = Repo.NewTempFolder("portal-token-file");
        var file = Path.Combine(folder, "secret");
        const string fromFile = "file-secret-0123456789abcdef";
        File.WriteAllText(file, fromFile + "\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using (var portal = PortalProcess.Start(folder, "--token-file", file))
        {
            Assert.Equal(fromFile, portal.Token);
            Assert.Equal(HttpStatusCode.OK, (await Post(portal, "STOP #f1")).StatusCode);
        }

        const string fromEnvironment = "environment-secret-0123456789";
        var environment = new Dictionary<string, string?> { ["CONVERGENCE_PORTAL_TOKEN"] = fromEnvironment };
        using (var portal = PortalProcess.Start(folder, environment))
        {
            Assert.Equal(fromEnvironment, portal.Token);
            Assert.Equal(HttpStatusCode.OK, (await Post(portal, "STOP #e1")).StatusCode);
        }

        // Named on the command line, the file wins over the environment.
        using (var portal = PortalProcess.Start(folder, environment, "--token-file", file))
        {
            Assert.Equal(fromFile, portal.Token);
        }

        Assert.Equal("STOP #f1\nSTOP #e1\n", File.ReadAllText(Path.Combine(folder, "notifications.txt")));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void BadSecretSources_OneLineErrorAndExitCode2()
    {
        var folder = Repo.NewTempFolder("portal-token-bad");
        var open = Path.Combine(folder, "readable-by-all");
        File.WriteAllText(open, "a-secret-others-can-read-0123\n");
        File.SetUnixFileMode(open, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var shortSecret = Path.Combine(folder, "short");
        File.WriteAllText(shortSecret, "abc\n");
        File.SetUnixFileMode(shortSecret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var missing = Path.Combine(folder, "missing");

        (string[] Arguments, Dictionary<string, string?>? Environment, string Expected)[] cases =
        [
            (["--token-file", missing], null, $"--token-file {missing}: cannot read it: Could not find file '{missing}'."),
            (["--token-file", open], null, $"--token-file {open} is open to other users (mode 644): chmod 600 it, or they can read the secret and steer the job"),
            (["--token-file", shortSecret], null, $"--token-file {shortSecret}: the secret must be at least 16 characters"),
            (["--token", "0123456789abcdefgh", "--token-file", shortSecret], null, "give the secret once: --token or --token-file, not both"),
            ([], new() { ["CONVERGENCE_PORTAL_TOKEN"] = "short" }, "CONVERGENCE_PORTAL_TOKEN: the secret must be at least 16 characters"),
        ];
        var dll = Repo.Output("src/Convergence.Cli", "Convergence.Cli");
        foreach (var (arguments, environment, expected) in cases)
        {
            using var process = RunningProcess.Dotnet(dll, ["portal", "--service", folder, "--port", "0", .. arguments], environment);
            Assert.Equal(2, process.WaitForExit(TimeSpan.FromSeconds(30)));
            var error = Assert.Single(process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("convergence portal: " + expected, error, StringComparison.Ordinal);
            Assert.Equal(string.Empty, process.Stdout);
        }
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
    [InlineData("--token short", "--token must be at least 16 characters")]
    [InlineData("--allow-host example.com", "--allow-host needs localhost or a loopback address")]
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

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private async Task<HttpResponseMessage> Post(PortalProcess portal, string message)
    {
        using var request = portal.Request(HttpMethod.Post, "notify");
        request.Content = new StringContent(message, Encoding.UTF8, "text/plain");
        request.Headers.Add("X-Convergence-Notify", "1");
        return await _http.SendAsync(request);
    }
}
