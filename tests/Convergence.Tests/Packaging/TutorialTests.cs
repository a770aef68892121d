using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Packaging;

/// <summary>
/// docs/tutorial.md, followed literally: every block marked <c>&lt;!-- tutorial: run --&gt;</c> (shell) or
/// <c>&lt;!-- tutorial: file PATH --&gt;</c> (a file to save) runs in order as one bash script, from this checkout
/// (where the tutorial packs the feed) with a scratch <c>HOME</c>, so <c>~/convergence-feed</c> and <c>~/fin</c>
/// are scratch folders. Then the steered 3-rank run under <c>mpirun.mpich</c> and the unit tests are checked.
/// </summary>
/// <remarks>
/// NuGet's global package folder stays the machine's (no download of what the checkout already restored, and
/// the checkout's own restore stays valid); the tutorial's packages carry the plain version 0.1.0, so any
/// 0.1.0 of them left in that folder by an earlier run is removed first, or restore would take the old one.
/// </remarks>
[Collection(MpiCollection.Name)]
public sealed partial class TutorialTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] TutorialPackages = ["convergence", "convergence.mpi", "convergence.mathnet", "convergence.testing", "convergence.tool", "convergence.templates"];

    private readonly string _home = Repo.NewTempFolder("tutorial-home");

    [Fact]
    public void TheTutorialsCommands_BuildTheFin_RunItOnThreeRanksSteered_AndItsUnitTestsPass()
    {
        var tutorial = File.ReadAllText(Path.Combine(Repo.Root, "docs", "tutorial.md"));
        var blocks = Block().Matches(tutorial).ToList();

        // The marks are what this test follows: losing them must fail, not silently run less.
        Assert.True(blocks.Count(b => b.Groups["kind"].Value == "run") >= 7, $"only {blocks.Count} marked blocks in docs/tutorial.md");
        Assert.Equal(
            ["Fin/FinOptions.cs", "Fin/FinSolver.cs", "Fin/Program.cs", "Fin.Tests/FinSolverTests.cs"],
            blocks.Where(b => b.Groups["path"].Success).Select(b => b.Groups["path"].Value));
        Assert.Equal(blocks.Count, Regex.Count(tutorial, "(?m)^<!-- tutorial:"));

        var script = new StringBuilder("set -euo pipefail\n");
        foreach (var block in blocks)
        {
            var body = block.Groups["body"].Value;
            if (block.Groups["path"].Success)
            {
                Assert.DoesNotContain("TUTORIAL_FILE", body, StringComparison.Ordinal);
                script.Append(CultureInfo.InvariantCulture, $"cat > {block.Groups["path"].Value} <<'TUTORIAL_FILE'\n{body}\nTUTORIAL_FILE\n");
            }
            else
            {
                script.Append(body).Append('\n');
            }
        }

        var scriptFile = Path.Combine(_home, "tutorial.sh");
        File.WriteAllText(scriptFile, script.ToString());

        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in TutorialPackages)
        {
            var stale = Path.Combine(cache, id, "0.1.0");
            if (Directory.Exists(stale))
            {
                Directory.Delete(stale, recursive: true);
            }
        }

        var clock = Stopwatch.StartNew();
        using var run = RunningProcess.Start(
            "bash",
            [scriptFile],
            new Dictionary<string, string?>
            {
                ["HOME"] = _home,
                ["NUGET_PACKAGES"] = cache,
                ["DOTNET_NOLOGO"] = "1",
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
            },
            workingDirectory: Repo.Root);
        var code = run.WaitForExit(TimeSpan.FromMinutes(15));
        output.WriteLine($"the tutorial took {clock.Elapsed.TotalSeconds:0} s");
        var fin = Path.Combine(_home, "fin");
        var log = File.Exists(Path.Combine(fin, "fin.log")) ? File.ReadAllText(Path.Combine(fin, "fin.log")) : "(no fin.log)";
        Assert.True(code == 0, $"the tutorial's script exited with {code}\n{run.Output}\n--- fin.log ---\n{log}");

        // The steered run: three ranks, the out-of-range AMBIENT refused with the range, the valid one applied
        // by every rank at one iteration, a checkpoint, a clean stop.
        var result = Notify.ReadResult(Path.Combine(fin, "service"));
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("3", result["ranks"]);
        Assert.Equal("30", result["ambient"]);
        Assert.Contains("command rejected seq=1 id=hot reason=\"AMBIENT: 2.5e3 is out of range [-50, 200]\"", log, StringComparison.Ordinal);
        var applied = Applied().Matches(log).Select(m => (Rank: m.Groups["rank"].Success ? m.Groups["rank"].Value : "0", Iteration: m.Groups["total"].Value)).ToList();
        Assert.Equal(["0", "1", "2"], applied.Select(a => a.Rank).Order(StringComparer.Ordinal));
        Assert.Single(applied.Select(a => a.Iteration).Distinct());
        Assert.Matches(@"command applied seq=3 id=c1 ", log);
        Assert.Equal(3, Regex.Count(log, " end outcome=STOPPED "));
        Assert.Contains("outcome=STOPPED", run.Stdout, StringComparison.Ordinal);

        // The unit tests, on the test kit from the feed.
        Assert.Matches(@"Passed!\s+-\s+Failed:\s+0, Passed:\s+3, Skipped:\s+0", run.Stdout);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
            // A process the test left behind still holds a file; the temp folder is cleaned with the machine.
        }
    }

    [GeneratedRegex(@"<!-- tutorial: (?<kind>run|file (?<path>\S+)) -->\n```(?:sh|csharp)\n(?<body>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex Block();

    [GeneratedRegex(@"Z (?:\[rank (?<rank>\d+)\] )?command applied seq=2 id=a1 iteration=\d+ total=(?<total>\d+)")]
    private static partial Regex Applied();
}
