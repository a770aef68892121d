using System.Text.RegularExpressions;
using Convergence.Journal;
using Convergence.Status;
using Convergence.Tests.Infrastructure;
using Convergence.Tests.Status;

namespace Convergence.Tests.Browser;

/// <summary>The status page's script in real headless Chromium, served by a real <c>convergence portal</c>.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class StatusPageBrowserTests(ChromiumFixture chromium)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task HostilePage_ShowsTextOnly_AndEveryControlSendsItsExactMessage()
    {
        var folder = Repo.NewTempFolder("browser-hostile");
        File.WriteAllText(Path.Combine(folder, "status.html"), StatusPage.Render(SampleSnapshots.HostileEverywhere() with { RefreshSeconds = 600 }));
        using var portal = PortalProcess.Start(folder);
        await using var browser = await chromium.NewPageAsync();
        var page = browser.Page;
        await page.GotoAsync(portal.Url.ToString());

        Assert.Equal(SampleSnapshots.Hostile, await page.Locator("h1#job").TextContentAsync());
        Assert.Equal(0, await page.Locator("img").CountAsync());
        Assert.False(await page.Locator("#notify-missing").IsVisibleAsync());
        Assert.False(await page.Locator("#script-off").IsVisibleAsync());

        var stop = await SendAsync(browser, portal, () => page.ClickAsync("button[data-message='STOP']"), "STOP");
        Assert.Equal($"STOP #{stop}\n", portal.Notifications());

        // Bad tolerances never leave the page.
        foreach (var bad in new[] { "-1", "0", "abc", "1e400", "0x10", "1e-8 #x" })
        {
            await page.FillAsync("#tolerance-input", bad);
            await page.ClickAsync("#tolerance-form button[type=submit]");
            Assert.Equal("enter a positive finite number such as 1e-8", await page.Locator("#tolerance-form .error").TextContentAsync());
        }

        Assert.Equal($"STOP #{stop}\n", portal.Notifications());
        await page.FillAsync("#tolerance-input", " 2.5e-9 ");
        var tolerance = await SendAsync(browser, portal, () => page.ClickAsync("#tolerance-form button[type=submit]"), "CHANGE_TOLERANCE 2.5e-9");
        Assert.Equal(string.Empty, await page.Locator("#tolerance-form .error").TextContentAsync());
        Assert.Equal(string.Empty, await page.InputValueAsync("#tolerance-input"));

        await page.FillAsync("#custom-input-0", "relaxation 1.3");
        var set = await SendAsync(browser, portal, () => page.ClickAsync("form.custom >> nth=0 >> button"), "SET relaxation 1.3");

        // A command name full of markup and quotes reaches the job byte for byte (read from a data attribute).
        var odd = await SendAsync(browser, portal, () => page.ClickAsync("form.custom >> nth=1 >> button"), "Q\"'<b>&");

        Assert.Equal($"STOP #{stop}\nCHANGE_TOLERANCE 2.5e-9 #{tolerance}\nSET relaxation 1.3 #{set}\nQ\"'<b>& #{odd}\n", portal.Notifications());

        // Over the portal's limit: refused with 413, and the page says so.
        var before = portal.Notifications();
        await page.FillAsync("#custom-input-0", new string('x', 5000));
        await page.ClickAsync("form.custom >> nth=0 >> button");
        await browser.WaitUntilAsync(
            async p => (await p.Locator("#feedback li.failed").CountAsync()) == 1,
            Patience,
            async () => await page.Locator("#feedback").InnerTextAsync());
        var failed = await page.Locator("#feedback li.failed").TextContentAsync();
        Assert.Matches(@"^not sent SET x{5000} #[0-9a-z]{8}: The portal did not pass the message on: message refused: 5014 bytes is longer than the limit of 4096 bytes; nothing was appended", failed);
        Assert.True(await page.Locator("#portal-error").IsVisibleAsync());
        Assert.Equal(before, portal.Notifications());

        Assert.Equal(0, await page.Locator("img").CountAsync());
        Assert.Empty(browser.Dialogs);
        Assert.Empty(browser.Errors);
        Assert.All(browser.Requests, url => Assert.StartsWith(portal.BaseUrl.ToString(), url, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SentId_IsShownAsAppliedAfterTheReload_AndTypedInputSurvivesReloads()
    {
        var folder = Repo.NewTempFolder("browser-reload");
        var status = Path.Combine(folder, "status.html");
        var running = SampleSnapshots.Running() with { Journal = [], RefreshSeconds = 1 };
        File.WriteAllText(status, StatusPage.Render(running));
        using var portal = PortalProcess.Start(folder);
        await using var browser = await chromium.NewPageAsync();
        var page = browser.Page;
        var loads = 0;
        page.Load += (_, _) => Interlocked.Increment(ref loads);
        await page.GotoAsync(portal.Url.ToString());

        var id = await SendAsync(browser, portal, () => page.ClickAsync("button[data-message='CHECKPOINT']"), "CHECKPOINT");

        // Typed but not sent: kept across the reload that follows once the user looks away.
        await page.FillAsync("#tolerance-input", "1e-7");
        await page.ClickAsync("h1#job");
        var seen = Volatile.Read(ref loads);
        await browser.WaitUntilAsync(_ => Task.FromResult(Volatile.Read(ref loads) > seen), Patience, () => Task.FromResult($"{loads} loads"));
        await browser.WaitUntilAsync(async p => await p.InputValueAsync("#tolerance-input") == "1e-7", Patience,
            async () => $"input holds '{await page.InputValueAsync("#tolerance-input")}'");

        // The job's next page carries the id in its journal: the sender's page recognises its own click.
        var entry = new JournalEntry(1, $"CHECKPOINT #{id}", id, DateTimeOffset.UtcNow, JournalState.Applied, 77, 77, null);
        Convergence.Output.AtomicFile.WriteAllText(status, StatusPage.Render(running with { Journal = [entry] }));
        var expected = $"sent CHECKPOINT #{id}: applied at iteration 77";
        await browser.WaitUntilAsync(
            async p => await browser.TextAsync($"#feedback li[data-id='{id}']") == expected,
            Patience,
            async () => await page.Locator("#feedback").InnerTextAsync());
        Assert.Equal(1, await page.Locator($"#journal tr.mine[data-id='{id}']").CountAsync());
        Assert.Equal("applied at iteration 77", await page.Locator($"#journal tr[data-id='{id}'] td.outcome").TextContentAsync());
        Assert.Equal("1e-7", await page.InputValueAsync("#tolerance-input"));
        Assert.Empty(browser.Dialogs);
        Assert.Empty(browser.Errors);
    }

    [Fact]
    public async Task TwoPortalsInOneBrowser_EachKeepsItsOwnCookie()
    {
        // Cookies are not kept apart by port: both portals on 127.0.0.1 see each other's cookies.
        var first = Repo.NewTempFolder("browser-two-a");
        var second = Repo.NewTempFolder("browser-two-b");
        foreach (var folder in new[] { first, second })
        {
            File.WriteAllText(Path.Combine(folder, "status.html"), StatusPage.Render(SampleSnapshots.Running() with { RefreshSeconds = 600 }));
        }

        using var portalA = PortalProcess.Start(first);
        using var portalB = PortalProcess.Start(second);
        await using var browser = await chromium.NewPageAsync();
        var page = browser.Page;
        await page.GotoAsync(portalA.Url.ToString());
        await page.GotoAsync(portalB.Url.ToString());

        // Back to the first portal without its secret in the URL: its own cookie must still be there.
        var again = await page.GotoAsync(portalA.BaseUrl.ToString());
        Assert.Equal(200, again?.Status);
        var a = await SendAsync(browser, portalA, () => page.ClickAsync("button[data-message='CHECKPOINT']"), "CHECKPOINT");
        var backToB = await page.GotoAsync(portalB.BaseUrl.ToString());
        Assert.Equal(200, backToB?.Status);
        var b = await SendAsync(browser, portalB, () => page.ClickAsync("button[data-message='STOP']"), "STOP");

        Assert.Equal($"CHECKPOINT #{a}\n", portalA.Notifications());
        Assert.Equal($"STOP #{b}\n", portalB.Notifications());
        var names = (await page.Context.CookiesAsync()).Select(c => c.Name).Order(StringComparer.Ordinal);
        Assert.Equal(new[] { portalA.BaseUrl.Port, portalB.BaseUrl.Port }.Select(p => $"convergence-portal-{p}").Order(StringComparer.Ordinal), names);
        Assert.Empty(browser.Errors);
    }

    [Fact]
    public async Task PageOpenedFromDisk_SaysTheControlsCannotReachTheJob()
    {
        var folder = Repo.NewTempFolder("browser-disk");
        var status = Path.Combine(folder, "status.html");
        File.WriteAllText(status, StatusPage.Render(SampleSnapshots.Running() with { RefreshSeconds = 600 }));
        await using var browser = await chromium.NewPageAsync();
        var page = browser.Page;
        await page.GotoAsync(new Uri(status).AbsoluteUri);

        Assert.True(await page.Locator("#notify-missing").IsVisibleAsync());
        Assert.Contains("notify_running_job", await page.Locator("#notify-missing").TextContentAsync(), StringComparison.Ordinal);
        Assert.True(await page.Locator("button[data-message='ABORT']").IsDisabledAsync());
        Assert.True(await page.Locator("#tolerance-input").IsDisabledAsync());
        Assert.All(browser.Requests, url => Assert.StartsWith("file://", url, StringComparison.Ordinal));
        Assert.Empty(browser.Errors);
    }

    /// <summary>Performs <paramref name="click"/>, waits for "sent MESSAGE #id" and for the portal to append it; returns the id.</summary>
    internal static async Task<string> SendAsync(BrowserPage browser, PortalProcess portal, Func<Task> click, string message)
    {
        var before = browser.Page.Locator("#feedback li");
        var count = await before.CountAsync();
        await click();
        string? text = null;
        await browser.WaitUntilAsync(
            async p =>
            {
                if (await p.Locator("#feedback li").CountAsync() <= count)
                {
                    return false;
                }

                text = await p.Locator("#feedback li").First.TextContentAsync();
                return true;
            },
            Patience,
            async () => await browser.Page.Locator("#feedback").InnerTextAsync());
        var match = SentPattern().Match(text!);
        Assert.True(match.Success, $"unexpected feedback '{text}'");
        Assert.Equal(message, match.Groups["message"].Value);
        var id = match.Groups["id"].Value;
        var line = $"{message} #{id}\n";
        await browser.WaitUntilAsync(_ => Task.FromResult(portal.Notifications().Contains(line, StringComparison.Ordinal)), Patience,
            () => Task.FromResult($"notifications.txt holds '{portal.Notifications()}'"));
        return id;
    }

    [GeneratedRegex("^sent (?<message>.+) #(?<id>[0-9a-z]{8}): ", RegexOptions.Singleline)]
    private static partial Regex SentPattern();
}
