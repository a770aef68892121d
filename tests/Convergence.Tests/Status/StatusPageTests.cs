using System.Globalization;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using AngleSharp.Html.Parser;
using Convergence.Status;

namespace Convergence.Tests.Status;

public sealed class StatusPageTests
{
    private static IHtmlDocument Parse(string html) => new HtmlParser().ParseDocument(html);

    [Fact]
    public void Page_IsHtml5WithHead_AndEndsWithHtml()
    {
        var html = StatusPage.Render(SampleSnapshots.Running());
        var doc = Parse(html);

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
        Assert.Equal("html", doc.Doctype?.Name);
        Assert.NotNull(doc.Head);
        Assert.Contains("<head>", html, StringComparison.Ordinal); // the service injects after this literal tag
        Assert.Equal("utf-8", doc.QuerySelector("meta[charset]")?.GetAttribute("charset"));
        Assert.Equal("poisson-64", doc.QuerySelector("h1#job")?.TextContent);
        Assert.Equal("converging", doc.QuerySelector("#state")?.TextContent);
        Assert.Equal("jacobi", doc.QuerySelector("#solver")?.TextContent);
    }

    [Fact]
    public void Page_IsSelfContained()
    {
        var doc = Parse(StatusPage.Render(SampleSnapshots.Running()));

        Assert.Empty(doc.QuerySelectorAll("link, img, iframe, object, embed, audio, video, source"));
        Assert.All(doc.Scripts, s => Assert.False(s.HasAttribute("src")));
        Assert.Single(doc.Scripts);
        Assert.NotEmpty(doc.QuerySelectorAll("style"));
        Assert.All(doc.All, e =>
        {
            foreach (var a in e.Attributes)
            {
                Assert.DoesNotContain("http:", a.Value.Replace("http://www.w3.org/2000/svg", string.Empty, StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("https:", a.Value, StringComparison.OrdinalIgnoreCase);
            }
        });
        Assert.DoesNotContain("url(", doc.QuerySelector("style")!.TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain("@import", doc.QuerySelector("style")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void Page_ShowsFigures()
    {
        var doc = Parse(StatusPage.Render(SampleSnapshots.Running()));

        Assert.Equal("1,490", doc.QuerySelector("#iteration")?.TextContent);
        Assert.Equal("1e-8", doc.QuerySelector("#tolerance")?.TextContent);
        Assert.Equal("1 min 23 s", doc.QuerySelector("#elapsed")?.TextContent);
        Assert.Equal("1,234", doc.QuerySelector("#rate")?.TextContent);
        Assert.Equal("about 42 s", doc.QuerySelector("#eta")?.TextContent);
        Assert.Equal("2,990", doc.QuerySelector("#total")?.TextContent);
        Assert.Equal("1", doc.QuerySelector("#restarts")?.TextContent);
        var residual = double.Parse(doc.QuerySelector("#residual")!.TextContent, NumberStyles.Float, CultureInfo.InvariantCulture);
        Assert.Equal(Math.Pow(10, -149 / 30.0), residual, 3e-3 * residual);
    }

    [Fact]
    public void HostileText_IsShownAsText_Everywhere()
    {
        var html = StatusPage.Render(SampleSnapshots.HostileEverywhere());
        var doc = Parse(html);
        var hostile = SampleSnapshots.Hostile;

        Assert.Empty(doc.QuerySelectorAll("img"));
        Assert.Empty(doc.QuerySelectorAll("b"));
        Assert.DoesNotContain(doc.All, e => e.Attributes.Any(a => a.Name.StartsWith("on", StringComparison.OrdinalIgnoreCase)));
        Assert.Single(doc.Scripts);
        Assert.DoesNotContain("alert", doc.Scripts[0].TextContent, StringComparison.Ordinal);

        Assert.Equal(hostile, doc.QuerySelector("h1#job")?.TextContent);
        Assert.StartsWith(hostile, doc.Title, StringComparison.Ordinal);
        Assert.Equal(hostile, doc.QuerySelector("#solver")?.TextContent);
        Assert.Equal(hostile, doc.QuerySelector("#message")?.TextContent);
        Assert.Equal("Last checkpoint: " + hostile, doc.QuerySelector("#checkpoint")?.TextContent);

        var rejected = doc.QuerySelector("#journal tr[data-id='x1']")!;
        Assert.Equal(hostile, rejected.QuerySelector("td.text")?.TextContent);
        Assert.Equal("rejected: " + hostile, rejected.QuerySelector("td.outcome")?.TextContent);
        Assert.Equal("rejected: " + hostile, rejected.GetAttribute("data-outcome"));
        var applied = doc.QuerySelector("#journal tr[data-id='y2']")!;
        Assert.Equal(hostile + " #y2", applied.QuerySelector("td.text")?.TextContent);
        Assert.Equal("applied at iteration 7: " + hostile, applied.GetAttribute("data-outcome"));

        // A name with quotes and markup survives the attribute round trip that the script relies on.
        var forms = doc.QuerySelectorAll("form.custom");
        Assert.Equal(["SET", "Q\"'<b>&"], forms.Select(f => f.GetAttribute("data-message")));
        Assert.All(forms, f => Assert.Contains("Usage: " + hostile + " — " + hostile, f.TextContent, StringComparison.Ordinal));
        Assert.Equal("custom:Q\"'<b>&", forms[1].QuerySelector("input")?.GetAttribute("data-key"));
    }

    [Fact]
    public void Controls_SendTheExactMessagesTheJobUnderstands()
    {
        var doc = Parse(StatusPage.Render(SampleSnapshots.Running()));

        var buttons = doc.QuerySelectorAll("button[data-message]").Select(b => b.GetAttribute("data-message")).ToList();
        Assert.Equal(["STOP", "CHECKPOINT", "RESTART", "RESTART checkpoint", "ABORT", "PAUSE", "RESUME"], buttons);
        var parser = new Convergence.Commands.CommandParser(SampleSnapshots.Running().CustomCommands);
        Assert.All(buttons, m => Assert.NotNull(parser.Parse(m + " #abc123").Command));

        var tolerance = doc.QuerySelector("form#tolerance-form")!;
        Assert.Equal("CHANGE_TOLERANCE", tolerance.GetAttribute("data-message"));
        Assert.Equal("tolerance", tolerance.GetAttribute("data-kind"));
        Assert.NotNull(tolerance.QuerySelector("input#tolerance-input"));

        var custom = Assert.Single(doc.QuerySelectorAll("form.custom"));
        Assert.Equal("SET", custom.GetAttribute("data-message"));
        Assert.Contains("Usage: SET <name> <value> — change a solver parameter", custom.TextContent, StringComparison.Ordinal);

        Assert.All(doc.QuerySelectorAll("[data-control]"), c => Assert.False(c.HasAttribute("disabled")));
        var missing = doc.QuerySelector("#notify-missing")!;
        Assert.True(missing.HasAttribute("hidden"));
        Assert.Contains("notify_running_job", missing.TextContent, StringComparison.Ordinal);
        Assert.False(doc.QuerySelector("#script-off")!.HasAttribute("hidden"), "without the script the page must say the controls are inactive");
    }

    [Fact]
    public void Journal_ShowsEachEntryWithIdAndOutcome_NewestFirst()
    {
        var doc = Parse(StatusPage.Render(SampleSnapshots.Running()));
        var rows = doc.QuerySelectorAll("#journal tbody tr");

        Assert.Equal(["4", "3", "2", "1"], rows.Select(r => r.QuerySelector("td")!.TextContent));
        Assert.Equal("applied at iteration 120", doc.QuerySelector("tr[data-id='aa11'] td.outcome")?.TextContent);
        Assert.Equal("#aa11", doc.QuerySelector("tr[data-id='aa11'] td.id")?.TextContent);
        Assert.StartsWith("rejected: CHANGE_TOLERANCE needs a positive finite number", doc.QuerySelector("tr[data-id='bb22'] td.outcome")?.TextContent, StringComparison.Ordinal);
        Assert.Equal("received, waiting for the next sync", doc.QuerySelector("tr[data-id='cc33'] td.outcome")?.TextContent);
        Assert.Equal("applied at iteration 1500 (total 3000)", rows[0].QuerySelector("td.outcome")?.TextContent);
        Assert.Equal("—", rows[0].QuerySelector("td.id")?.TextContent);
        Assert.False(rows[0].HasAttribute("data-id"));
    }

    [Fact]
    public void RunningPage_ReloadsItself_FinishedPageDoesNot()
    {
        var running = Parse(StatusPage.Render(SampleSnapshots.Running()));
        Assert.Equal("false", running.Body!.GetAttribute("data-finished"));
        Assert.Equal("2", running.Body!.GetAttribute("data-refresh"));
        Assert.Contains("http-equiv=\"refresh\"", running.Head!.QuerySelector("noscript")!.InnerHtml, StringComparison.Ordinal);

        var finished = Parse(StatusPage.Render(SampleSnapshots.Running() with { State = JobState.Aborted, Message = "ABORT #aa11 applied at iteration 12" }));
        Assert.Equal("true", finished.Body!.GetAttribute("data-finished"));
        Assert.Null(finished.Head!.QuerySelector("noscript"));
        Assert.DoesNotContain("refresh", finished.Head!.InnerHtml, StringComparison.Ordinal);
        Assert.Equal("aborted", finished.QuerySelector("#state")?.TextContent);
        Assert.Equal("—", finished.QuerySelector("#eta")?.TextContent);
        Assert.NotNull(finished.QuerySelector("#ended"));
        Assert.Null(finished.QuerySelector("#script-off"));
        Assert.All(finished.QuerySelectorAll("[data-control]"), c => Assert.True(c.HasAttribute("disabled")));
    }

    [Fact]
    public void Plot_IsLogScale_WithOneLinePerStart_AndRestartMarked()
    {
        var snapshot = SampleSnapshots.Running();
        var doc = Parse(StatusPage.Render(snapshot));
        var svg = doc.QuerySelector("svg#plot")!;

        var lines = svg.QuerySelectorAll("polyline.residual");
        Assert.Equal(2, lines.Length);
        Assert.Single(svg.QuerySelectorAll("line.restart"));
        Assert.NotNull(svg.QuerySelector("line.tolerance"));

        // Residuals fall by a constant factor per step: on a log scale equal steps in x are equal steps in y.
        var first = Points(lines[0]);
        Assert.Equal(150, first.Count);
        var dy = first.Zip(first.Skip(1), (a, b) => b.Y - a.Y).ToList();
        Assert.All(dy, d => Assert.Equal(dy[0], d, 0.11));
        Assert.True(dy[0] > 0, "a falling residual goes down the plot (SVG y grows downwards)");
        Assert.Contains(svg.QuerySelectorAll("text.tick"), t => t.TextContent == "1e-8");
    }

    [Fact]
    public void Plot_ThinsLongHistories_KeepingRestartsAndTheLastPoint()
    {
        var history = Enumerable.Range(0, 5000)
            .Select(i => new ResidualPoint(i, i, 1.0 / (i + 1), i, i == 3333))
            .ToList();
        var thinned = ResidualPlot.Usable(history);

        Assert.InRange(thinned.Count, 2, ResidualPlot.MaxPlotPoints + 1);
        Assert.Contains(thinned, p => p.Restart && p.TotalIteration == 3333);
        Assert.Equal(4999, thinned[^1].TotalIteration);
    }

    [Fact]
    public void Plot_SkipsResidualsALogScaleCannotShow()
    {
        var history = new[]
        {
            new ResidualPoint(1, 1, double.NaN, 0, false),
            new ResidualPoint(2, 2, 0, 0, false),
            new ResidualPoint(3, 3, double.PositiveInfinity, 0, false),
        };
        var doc = Parse(StatusPage.Render(SampleSnapshots.Running() with { History = history, Residual = double.NaN }));

        Assert.Empty(doc.QuerySelectorAll("polyline"));
        Assert.Equal("no residual yet", doc.QuerySelector("svg#plot text.empty")?.TextContent);
        Assert.Equal("—", doc.QuerySelector("#residual")?.TextContent);
    }

    private static List<(double X, double Y)> Points(IElement polyline) =>
        polyline.GetAttribute("points")!.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split(','))
            .Select(p => (double.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToList();
}
