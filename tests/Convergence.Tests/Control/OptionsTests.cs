using Convergence.Options;

namespace Convergence.Tests.Control;

public sealed class OptionsTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    private static RunOptions Parse(string[] args, Dictionary<string, string>? env = null) =>
        RunOptions.Parse(args, out _, null, name => (env ?? NoEnvironment).GetValueOrDefault(name));

    [Fact]
    public void Defaults_UseTheContainerServiceFolder()
    {
        var o = Parse([]);
        Assert.Equal("/service", o.ServiceDirectory);
        Assert.Equal("/service/notifications.txt", o.NotificationsFile);
        Assert.Equal(SyncMode.Adaptive, o.Sync.Mode);
    }

    [Fact]
    public void CommandLine_WinsOverEnvironment_WhichWinsOverDefaults()
    {
        var env = new Dictionary<string, string> { ["CONVERGENCE_SERVICE_DIR"] = "/env", ["CONVERGENCE_TOLERANCE"] = "1e-4" };
        var o = Parse(["--tolerance=1e-9"], env);
        Assert.Equal("/env", o.ServiceDirectory);
        Assert.Equal(1e-9, o.Tolerance);
    }

    [Fact]
    public void UnknownArguments_AreLeftForTheSolver()
    {
        var o = RunOptions.Parse(["--n", "64", "--service", "/s", "--method", "sor"], out var rest, null, _ => null);
        Assert.Equal("/s", o.ServiceDirectory);
        Assert.Equal(["--n", "64", "--method", "sor"], rest);
    }

    [Theory]
    [InlineData(new[] { "--tolerance", "abc" }, "option --tolerance: 'abc' is not a number (e.g. 1e-8)")]
    [InlineData(new[] { "--tolerance", "0" }, "--tolerance must be a positive finite number (e.g. 1e-8), got 0")]
    [InlineData(new[] { "--sync", "sometimes" }, "option --sync: sync policy 'sometimes' is not one of: adaptive, adaptive:<ms between syncs, 0-60000>, every:<iterations >= 1>, piggyback")]
    [InlineData(new[] { "--poll-ms" }, "option --poll-ms needs a value (MS): notifications poll interval")]
    [InlineData(new[] { "--max-iterations", "0" }, "--max-iterations must be at least 1, got 0")]
    public void BadValues_GiveOneLineErrors(string[] args, string message)
    {
        var ex = Assert.Throws<OptionsException>(() => Parse(args));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void BadEnvironmentValue_NamesTheVariable()
    {
        var ex = Assert.Throws<OptionsException>(() => Parse([], new Dictionary<string, string> { ["CONVERGENCE_POLL_MS"] = "soon" }));
        Assert.StartsWith("environment variable CONVERGENCE_POLL_MS:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("adaptive", "adaptive:20")]
    [InlineData("ADAPTIVE:5", "adaptive:5")]
    [InlineData("every:100", "every:100")]
    [InlineData("piggyback", "piggyback")]
    public void SyncPolicy_RoundTrips(string text, string canonical) => Assert.Equal(canonical, SyncPolicy.Parse(text).ToString());
}
