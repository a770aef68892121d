using System.Globalization;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Browser;

/// <summary>
/// The whole path a user takes: the 2-rank Poisson example under <c>mpirun</c>, <c>convergence portal</c>
/// serving its page, headless Chromium clicking the controls, the job reacting and saying so.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SteeringBrowserTests(ChromiumFixture chromium)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ClickingAbort_EndsTheRunningJob_AndTheRefreshedJournalShowsItApplied()
    {
        var folder = Repo.NewTempFolder("steer-abort");
        using var portal = PortalProcess.Start(folder);
        await using var browser = await chromium.NewPageAsync();
        var page = browser.Page;

        // Opened before the job exists: the portal's waiting page turns into the status page by itself.
        await page.GotoAsync(portal.Url.ToString());
        Assert.NotNull(await browser.TextAsync("#waiting"));
        using var job = StartPoisson(folder);
        await WaitForRunningPageAsync(browser, job);

        var id = await StatusPageBrowserTests.SendAsync(browser, portal, () => page.ClickAsync("button[data-message='ABORT']"), "ABORT");

        var exit = job.WaitForExit(Patience);
        var result = Notify.ReadResult(folder);
        Assert.Equal("ABORTED", result["outcome"]);
        Assert.Equal(result["exit_code"], exit.ToString(CultureInfo.InvariantCulture));
        Assert.Contains($"command applied seq=1 id={id} iteration={result["iteration"]}", job.Stdout, StringComparison.Ordinal);

        // The page reloads itself until it shows the final state, with the click confirmed.
        var applied = $"applied at iteration {result["iteration"]}";
        await browser.WaitUntilAsync(
            async p => await browser.TextAsync($"#journal tr[data-id='{id}'] td.outcome") == applied
                && await browser.TextAsync("#state") == "aborted",
            Patience,
            async () => $"state '{await browser.TextAsync("#state")}', journal '{await browser.TextAsync("#journal tbody")}'");
        Assert.Equal($"sent ABORT #{id}: {applied}", await browser.TextAsync($"#feedback li[data-id='{id}']"));
        Assert.Equal("true", await page.GetAttributeAsync("body", "data-finished"));
        Assert.True(await page.Locator("button[data-message='STOP']").IsDisabledAsync());
        Assert.Equal($"ABORT #{id}\n", portal.Notifications());
        Assert.Empty(browser.Dialogs);
        Assert.Empty(browser.Errors);
    }

    [Fact]
    public async Task ChangingTheTolerance_InThePage_MakesTheJobConvergeWithIt()
    {
        var folder = Repo.NewTempFolder("steer-tolerance");
        using var job = StartPoisson(folder);
        using var portal = PortalProcess.Start(folder);
        await using var browser = await chromium.NewPageAsync();
        var page = browser.Page;
        await page.GotoAsync(portal.Url.ToString());
        await WaitForRunningPageAsync(browser, job);

        await page.FillAsync("#tolerance-input", "-1e-3");
        await page.ClickAsync("#tolerance-form button[type=submit]");
        Assert.Equal("enter a positive finite number such as 1e-8", await browser.TextAsync("#tolerance-form .error"));
        Assert.Equal(string.Empty, portal.Notifications());

        // A little below the residual the page shows: reached after a few more Jacobi sweeps, never by 1e-12.
        var shown = double.Parse((await browser.TextAsync("#residual"))!, NumberStyles.Float, CultureInfo.InvariantCulture);
        var typed = (shown * 0.95).ToString("0.###e+0", CultureInfo.InvariantCulture);
        var tolerance = double.Parse(typed, NumberStyles.Float, CultureInfo.InvariantCulture);
        await page.FillAsync("#tolerance-input", typed);
        var id = await StatusPageBrowserTests.SendAsync(browser, portal, () => page.ClickAsync("#tolerance-form button[type=submit]"), $"CHANGE_TOLERANCE {typed}");

        job.WaitForExit(Patience);
        var result = Notify.ReadResult(folder);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal(tolerance, double.Parse(result["tolerance"], CultureInfo.InvariantCulture));
        Assert.True(double.Parse(result["residual"], CultureInfo.InvariantCulture) < tolerance, $"residual {result["residual"]} not below {typed}");

        await browser.WaitUntilAsync(
            async p => (await browser.TextAsync($"#journal tr[data-id='{id}'] td.outcome"))?.StartsWith("applied at iteration ", StringComparison.Ordinal) == true
                && await browser.TextAsync("#state") == "converged",
            Patience,
            async () => $"state '{await browser.TextAsync("#state")}', journal '{await browser.TextAsync("#journal tbody")}'");
        Assert.Equal(typed, await browser.TextAsync("#tolerance"));
        Assert.StartsWith($"sent CHANGE_TOLERANCE {typed} #{id}: applied at iteration ", await browser.TextAsync($"#feedback li[data-id='{id}']"), StringComparison.Ordinal);
        Assert.Empty(browser.Dialogs);
        Assert.Empty(browser.Errors);
    }

    [Fact]
    public async Task TheRelaxationForm_HasTheDeclaredBounds_RefusesAValueOutsideThem_AndAValidValueIsApplied()
    {
        var folder = Repo.NewTempFolder("steer-relaxation");
        using var job = StartPoisson(folder);
        using var portal = PortalProcess.Start(folder);
        await using var browser = await chromium.NewPageAsync();
        var page = browser.Page;
        await page.GotoAsync(portal.Url.ToString());
        await WaitForRunningPageAsync(browser, job);

        // The Jacobi weight is declared in (0, 1]: a number field with those bounds, the open one marked.
        var field = page.Locator("form[data-message='RELAXATION'] input");
        Assert.Equal("number", await field.GetAttributeAsync("type"));
        Assert.Equal("0", await field.GetAttributeAsync("min"));
        Assert.Equal("1", await field.GetAttributeAsync("max"));
        Assert.Equal("any", await field.GetAttributeAsync("step"));
        Assert.NotNull(await field.GetAttributeAsync("data-exclude-min"));
        Assert.Null(await field.GetAttributeAsync("data-exclude-max"));

        // Outside the range (and the open bound itself): refused in the page, nothing sent.
        foreach (var refused in new[] { "1.5", "0" })
        {
            await field.FillAsync(refused);
            await page.ClickAsync("form[data-message='RELAXATION'] button[type=submit]");
            Assert.Equal("enter a number in (0, 1]", await browser.TextAsync("form[data-message='RELAXATION'] .error"));
            Assert.Equal(string.Empty, portal.Notifications());
        }

        await field.FillAsync("0.8");
        var id = await StatusPageBrowserTests.SendAsync(browser, portal, () => page.ClickAsync("form[data-message='RELAXATION'] button[type=submit]"), "RELAXATION 0.8");
        await browser.WaitUntilAsync(
            async p => (await browser.TextAsync($"#journal tr[data-id='{id}'] td.outcome"))?.StartsWith("applied at iteration ", StringComparison.Ordinal) == true,
            Patience,
            async () => $"journal '{await browser.TextAsync("#journal tbody")}'\n{job.Output}");
        await StatusPageBrowserTests.SendAsync(browser, portal, () => page.ClickAsync("button[data-message='STOP']"), "STOP");

        Assert.Equal(0, job.WaitForExit(Patience));
        var result = Notify.ReadResult(folder);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("0.8", result["relaxation"]);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(job.Stdout, $"command applied seq=1 id={id} iteration="));
        Assert.Empty(browser.Dialogs);
        Assert.Empty(browser.Errors);
    }

    /// <summary>Jacobi on a small grid, slowed down: it would run for minutes unless steered.</summary>
    private static RunningProcess StartPoisson(string folder) => RunningProcess.MpiRun(
        2,
        Repo.Output("examples/Poisson", "Poisson"),
        ["--service", folder, "--n", "64", "--method", "jacobi", "--tolerance", "1e-12", "--slow-ms", "5", "--status-ms", "200", "--poll-ms", "50"]);

    private static async Task WaitForRunningPageAsync(BrowserPage browser, RunningProcess job) =>
        await browser.WaitUntilAsync(
            async p =>
            {
                Assert.False(job.HasExited, $"the job ended early\n{job.Output}");
                var residual = await browser.TextAsync("#residual");
                return residual is not null && residual != "—" && await p.Locator("button[data-message='ABORT']").IsEnabledAsync();
            },
            TimeSpan.FromSeconds(30),
            async () => $"page shows '{await browser.Page.Locator("body").InnerTextAsync()}'\n{job.Output}");
}
