using System.Text.Json;
using AngleSharp.Html.Parser;
using Convergence.Status;

namespace Convergence.Tests.Status;

/// <summary>How the page and status.json show a pause and a rank the stall watchdog names.</summary>
public sealed class PauseAndStallPageTests
{
    private static readonly DateTimeOffset Since = new(2026, 12, 3, 18, 0, 0, TimeSpan.Zero);

    [Fact]
    public void APausedJob_SaysWhereAndSinceWhen_KeepsReloading_AndStatusJsonHasIt()
    {
        var s = SampleSnapshots.Running() with { State = JobState.Paused, Pause = new PauseInfo(1234, Since, Since.AddMinutes(15)) };

        var page = new HtmlParser().ParseDocument(StatusPage.Render(s));
        Assert.Equal("paused at iteration 1,234 since 2026-12-03 18:00:00 UTC (resumes at 2026-12-03 18:15:00 UTC)", page.QuerySelector("#paused")!.TextContent);
        Assert.Equal("false", page.Body!.GetAttribute("data-finished"));
        Assert.Equal("paused", page.QuerySelector("#state")!.TextContent);
        Assert.False(page.QuerySelector("button[data-message='RESUME']")!.HasAttribute("disabled"));

        var json = JsonDocument.Parse(StatusJson.Serialize(s)).RootElement;
        Assert.Equal("Paused", json.GetProperty("state").GetString());
        Assert.False(json.GetProperty("finished").GetBoolean());
        var paused = json.GetProperty("paused");
        Assert.Equal(1234, paused.GetProperty("iteration").GetInt64());
        Assert.Equal(Since, paused.GetProperty("since").GetDateTimeOffset());
        Assert.Equal(Since.AddMinutes(15), paused.GetProperty("resumesAt").GetDateTimeOffset());
    }

    [Fact]
    public void APauseUntilResume_SaysSo_AndARunningJobHasNoPause()
    {
        var s = SampleSnapshots.Running() with { State = JobState.Paused, Pause = new PauseInfo(7, Since, null) };
        Assert.EndsWith("(until Resume)", new HtmlParser().ParseDocument(StatusPage.Render(s)).QuerySelector("#paused")!.TextContent, StringComparison.Ordinal);

        var running = SampleSnapshots.Running();
        Assert.Null(new HtmlParser().ParseDocument(StatusPage.Render(running)).QuerySelector("#paused"));
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(StatusJson.Serialize(running)).RootElement.GetProperty("paused").ValueKind);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(StatusJson.Serialize(running)).RootElement.GetProperty("stall").ValueKind);
    }

    [Fact]
    public void AStalledRank_IsNamedOnThePageEscapedAndInStatusJson()
    {
        var line = $"rank 2 on host {SampleSnapshots.Hostile} has not finished iteration 4,711 for 3 min 10 s";
        var s = SampleSnapshots.Running() with { Stall = line };

        var html = StatusPage.Render(s);
        Assert.DoesNotContain(SampleSnapshots.Hostile, html, StringComparison.Ordinal);
        Assert.Equal(line, new HtmlParser().ParseDocument(html).QuerySelector("#stall")!.TextContent);
        Assert.Equal(line, JsonDocument.Parse(StatusJson.Serialize(s)).RootElement.GetProperty("stall").GetString());
    }
}
