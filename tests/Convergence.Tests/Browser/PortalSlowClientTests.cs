using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Convergence.Cli.Portal;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Browser;

/// <summary>
/// Clients that open a connection and send its request header a byte at a time, before any secret is
/// checked: the portal must cut them off within its header timeout and keep serving everyone else.
/// Real sockets to a real <c>convergence portal</c> process, on 127.0.0.1 only.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PortalSlowClientTests
{
    /// <summary>Between two bytes of a trickled header: each byte alone would reset an idle timer.</summary>
    private static readonly TimeSpan Trickle = TimeSpan.FromSeconds(2);

    /// <summary>Far longer than the header timeout plus the server's one-second timer and a busy machine's delays.</summary>
    private static readonly TimeSpan CutOffWithin = PortalServer.RequestHeadersTimeout + TimeSpan.FromSeconds(15);

    [Fact]
    public async Task AHeaderSentOneByteEveryTwoSeconds_IsCutOffWithinTheHeaderTimeout()
    {
        using var portal = PortalProcess.Start(Repo.NewTempFolder("portal-trickle"));
        var header = Header(portal);
        var wholeTrickle = Trickle * header.Length;
        Assert.True(wholeTrickle > CutOffWithin * 3, $"the header would be sent in {wholeTrickle.TotalSeconds:0} s, too soon to tell");

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, portal.BaseUrl.Port);
        var watch = Stopwatch.StartNew();
        var closed = UntilClosedAsync(client.GetStream());
        var sent = 0;
        while (!closed.IsCompleted && sent < header.Length && watch.Elapsed < CutOffWithin)
        {
            if (!await TrySendAsync(client, header[sent]))
            {
                break;
            }

            sent++;
            await Task.WhenAny(closed, Task.Delay(Trickle));
        }

        var cutOff = await Task.WhenAny(closed, Task.Delay(TimeSpan.FromSeconds(5))) == closed;
        Assert.True(cutOff, $"still connected after {watch.Elapsed.TotalSeconds:0} s and {sent} of {header.Length} header bytes");
        Assert.True(watch.Elapsed < CutOffWithin, $"cut off only after {watch.Elapsed.TotalSeconds:0} s");
        Assert.True(sent < header.Length, "the whole header went through");

        // Whatever the server said before closing, it was not the page.
        Assert.DoesNotContain("200 OK", await closed, StringComparison.Ordinal);
        Assert.Equal(string.Empty, portal.Notifications());
    }

    [Fact]
    public async Task TwoHundredTricklingConnections_DoNotStopAnAuthenticatedRequest_AndAreAllCutOff()
    {
        const int attackers = 200;
        var folder = Repo.NewTempFolder("portal-flood");
        File.WriteAllText(Path.Combine(folder, "status.html"), "<!DOCTYPE html><html><head><title>t</title></head><body>job</body></html>");
        using var portal = PortalProcess.Start(folder);
        var header = Header(portal);
        var clients = new List<TcpClient>();
        try
        {
            for (var i = 0; i < attackers; i++)
            {
                var client = new TcpClient();
                clients.Add(client);
                await client.ConnectAsync(IPAddress.Loopback, portal.BaseUrl.Port);
                Assert.True(await TrySendAsync(client, header[0]), $"connection {i} refused before it sent anything");
            }

            var watch = Stopwatch.StartNew();
            var closed = clients.Select(c => UntilClosedAsync(c.GetStream())).ToList();

            // While they trickle, the user's own request is answered.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var request = portal.Request(HttpMethod.Get, "/");
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("window.notify_running_job", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var stillOpen = closed.Count(c => !c.IsCompleted);

            // And each of them is cut off within the header timeout of its own start, though it keeps sending.
            for (var sent = 1; sent < header.Length && closed.Any(c => !c.IsCompleted) && watch.Elapsed < CutOffWithin; sent++)
            {
                await Task.Delay(Trickle);
                for (var i = 0; i < attackers; i++)
                {
                    if (!closed[i].IsCompleted)
                    {
                        await TrySendAsync(clients[i], header[sent]);
                    }
                }
            }

            var all = Task.WhenAll(closed);
            Assert.True(await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5))) == all, $"{closed.Count(c => !c.IsCompleted)} of {attackers} still connected after {watch.Elapsed.TotalSeconds:0} s");
            Assert.True(watch.Elapsed < CutOffWithin, $"the last one was cut off only after {watch.Elapsed.TotalSeconds:0} s");
            Assert.True(stillOpen > 0, "every trickling connection was closed before the user's request was answered: the test proved nothing");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    /// <summary>A request the portal would answer with its page, if it ever arrived whole.</summary>
    private static byte[] Header(PortalProcess portal) => Encoding.ASCII.GetBytes(string.Create(
        CultureInfo.InvariantCulture,
        $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{portal.BaseUrl.Port}\r\nAuthorization: token {portal.Token}\r\nUser-Agent: trickle\r\n\r\n"));

    /// <summary>Sends one byte; false when the server has already closed the connection.</summary>
    private static async Task<bool> TrySendAsync(TcpClient client, byte value)
    {
        try
        {
            await client.GetStream().WriteAsync(new[] { value });
            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Completes, with whatever the server sent, when the server closes or resets the connection.</summary>
    private static async Task<string> UntilClosedAsync(NetworkStream stream)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }

        return received.ToString();
    }
}
