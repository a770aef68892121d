using System.Text.RegularExpressions;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Browser;

/// <summary><c>convergence portal</c> as a real child process on a free loopback port.</summary>
public sealed partial class PortalProcess : IDisposable
{
    private PortalProcess(RunningProcess process, Uri url, string serviceFolder)
    {
        Process = process;
        Url = url;
        BaseUrl = new Uri(url.GetLeftPart(UriPartial.Path));
        Token = url.Query["?token=".Length..];
        ServiceFolder = serviceFolder;
    }

    /// <summary>The process.</summary>
    public RunningProcess Process { get; }

    /// <summary>The URL the portal printed (with its secret, as a user opens it).</summary>
    public Uri Url { get; }

    /// <summary>The printed URL without the secret.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The secret from the printed URL.</summary>
    public string Token { get; }

    /// <summary>The folder it serves.</summary>
    public string ServiceFolder { get; }

    /// <summary>The notifications file it appends to.</summary>
    public string NotificationsFile => Path.Combine(ServiceFolder, "notifications.txt");

    /// <summary>Starts <c>dotnet Convergence.Cli.dll portal --service DIR --port 0 …</c> and waits for its URL.</summary>
    public static PortalProcess Start(string serviceFolder, params string[] extra) => Start(serviceFolder, null, extra);

    /// <summary>As <see cref="Start(string, string[])"/>, with <paramref name="environment"/> added to the process's environment.</summary>
    public static PortalProcess Start(string serviceFolder, IDictionary<string, string?>? environment, params string[] extra)
    {
        var dll = Repo.Output("src/Convergence.Cli", "Convergence.Cli");
        var process = RunningProcess.Dotnet(dll, ["portal", "--service", serviceFolder, "--port", "0", .. extra], environment);
        try
        {
            process.WaitForOutput("convergence portal: serving", TimeSpan.FromSeconds(30));
            var url = UrlPattern().Match(process.Stdout);
            Assert.True(url.Success, $"no URL printed\n{process.Output}");
            return new PortalProcess(process, new Uri(url.Value), serviceFolder);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>A request to <paramref name="path"/> that carries the secret as a script would (Authorization header).</summary>
    public HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(BaseUrl, path));
        request.Headers.TryAddWithoutValidation("Authorization", "token " + Token);
        return request;
    }

    /// <summary>What the portal has appended so far ("" when nothing).</summary>
    public string Notifications() => File.Exists(NotificationsFile) ? File.ReadAllText(NotificationsFile) : string.Empty;

    /// <inheritdoc />
    public void Dispose() => Process.Dispose();

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]+")]
    private static partial Regex UrlPattern();
}
