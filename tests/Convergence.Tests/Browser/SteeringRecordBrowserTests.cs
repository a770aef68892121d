using Convergence.Commands;
using Convergence.Journal;
using Convergence.Status;
using Convergence.Tests.Infrastructure;
using Convergence.Tests.Status;

namespace Convergence.Tests.Browser;

/// <summary>
/// The page's "Scheduled" and "Changes of settings" sections in real headless Chromium, served by a real
/// <c>convergence portal</c>: what waits and how the run was steered are shown as text, and a scheduled
/// command's Cancel button sends <c>CANCEL #id</c>.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SteeringRecordBrowserTests(ChromiumFixture chromium)
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 18, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ScheduledCommandsAndChangesAreShown_AndCancelSendsCancelById()
    {
        var folder = Repo.NewTempFolder("browser-steering");
        var changes = new ChangeRecord(capacity: 2);
        changes.Add("tolerance", "1E-06", "1E-08", 10, 110, At, "t1", 2);
        changes.Add("RELAXATION", "1", "0.8", 20, 120, At.AddSeconds(5), null, 3);
        changes.Add("RELAXATION", null, "<b>0.7</b>", 30, 130, At.AddSeconds(9), "r2", 4);
        var snapshot = SampleSnapshots.Running() with
        {
            RefreshSeconds = 600,
            Scheduled = [new ScheduledCommand("s1", 5, "STOP", "STOP at=5000", "at iteration 5000", At)],
            Changes = changes.Recent(),
            ChangeSummaries = changes.Summaries(),
            ChangeCount = changes.Count,
        };
        File.WriteAllText(Path.Combine(folder, "status.html"), StatusPage.Render(snapshot));
        using var portal = PortalProcess.Start(folder);
        await using var browser = await chromium.NewPageAsync();
        var page = browser.Page;
        await page.GotoAsync(portal.Url.ToString());

        Assert.Equal("#s1STOP at=5000at iteration 500018:00:00Cancel", await page.Locator("#scheduled tbody tr").InnerTextAsync() is { } row ? row.Replace("\t", string.Empty, StringComparison.Ordinal) : null);
        Assert.Equal("Changes of settings (3)", await page.Locator("section[aria-label=changes] h2").TextContentAsync());
        Assert.Equal(
            "tolerance: 1 change 1E-06 -> 1E-08 between total iterations 110 and 110 (2026-12-03T18:00:00Z to 2026-12-03T18:00:00Z)",
            await page.Locator(".change-summary").TextContentAsync());

        // Newest first; a value full of markup is text, not markup.
        Assert.Equal(["<b>0.7</b>", "0.8"], await page.Locator("#changes td.new").AllTextContentsAsync());
        Assert.Equal(["0.8", "1"], await page.Locator("#changes td.old").AllTextContentsAsync());
        Assert.Equal(0, await page.Locator("#changes b").CountAsync());

        var id = await StatusPageBrowserTests.SendAsync(browser, portal, () => page.ClickAsync("#scheduled button.cancel"), "CANCEL #s1");
        Assert.Equal($"CANCEL #s1 #{id}\n", portal.Notifications());

        // What the job makes of it: the scheduled command's #id is the target, the page's own is the message's.
        Assert.Equal(new ControlCommand(CommandKind.Cancel, 0, "CANCEL", "s1", id), new CommandParser().Parse($"CANCEL #s1 #{id}").Command);
        Assert.Empty(browser.Errors);
    }
}
