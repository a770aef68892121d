using System.Text.Json;
using Convergence.Commands;
using Convergence.Journal;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Status;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cli;

public sealed class StatusCommandTests
{
    [Fact]
    public void StatusJsonCarriesWhatThePageShowsAndNullForUnknownNumbers()
    {
        var journal = new CommandJournal();
        var live = new LiveStatus("heat", "Jacobi", 2, 1e-6, [], journal);

        var before = JsonDocument.Parse(StatusJson.Serialize(live.Snapshot(0))).RootElement;
        live.Record(42, 42, 3.5e-3, 1e-6);
        var seq = journal.Received(Parse("STOP #ab12"), "STOP #ab12");
        journal.Applied(seq, 43, 43);
        journal.Rejected("FLY away", null, "unknown command 'FLY'");
        var after = JsonDocument.Parse(StatusJson.Serialize(live.Snapshot(10))).RootElement;

        Assert.Equal(JsonValueKind.Null, before.GetProperty("residual").ValueKind);
        Assert.Equal("Starting", before.GetProperty("state").GetString());
        Assert.Equal(StatusJson.Schema, after.GetProperty("schema").GetInt32());
        Assert.Equal("heat", after.GetProperty("job").GetString());
        Assert.Equal(42, after.GetProperty("iteration").GetInt64());
        Assert.Equal(3.5e-3, after.GetProperty("residual").GetDouble());
        Assert.Equal(1e-6, after.GetProperty("tolerance").GetDouble());
        Assert.False(after.GetProperty("finished").GetBoolean());
        var entries = after.GetProperty("journal").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.Equal("Applied", entries[0].GetProperty("state").GetString());
        Assert.Equal("ab12", entries[0].GetProperty("clientId").GetString());
        Assert.Equal(43, entries[0].GetProperty("appliedIteration").GetInt64());
        Assert.Equal("unknown command 'FLY'", entries[1].GetProperty("reason").GetString());
    }

    [Fact]
    public void ShowsStateNumbersAndJournalOfARunningJob()
    {
        var service = Repo.NewTempFolder("status");
        var journal = new CommandJournal();
        var live = new LiveStatus("heat", "Jacobi", 2, 1e-6, [], journal);
        live.Record(1200, 1500, 2.5e-4, 1e-7);
        var seq = journal.Received(Parse("CHANGE_TOLERANCE 1e-7"), "CHANGE_TOLERANCE 1e-7");
        journal.Applied(seq, 1100, 1400);
        journal.Rejected("<script>", null, "unknown command '<script>'");
        StatusJson.WriteBeside(Path.Combine(service, "status.html"), live.Snapshot(250));
        ResultFile.Write(Path.Combine(service, "result.txt"), ResultFile.FormatPlaceholder("heat", 2));

        var (code, stdout, stderr) = CliProcess.Run(["status", "--service", service]);

        Assert.True(code == 0, stderr);
        Assert.Matches(@"(?m)^state\s+Running$", stdout);
        Assert.Matches(@"(?m)^iteration\s+1200 \(1500 in total, 0 restarts\)$", stdout);
        Assert.Matches(@"(?m)^residual\s+0\.00025$", stdout);
        Assert.Matches(@"(?m)^tolerance\s+1e-07$", stdout);
        Assert.Contains("#1 CHANGE_TOLERANCE 1e-7: applied at iteration 1100", stdout, StringComparison.Ordinal);
        Assert.Contains("#2 <script>: rejected (unknown command '<script>')", stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^result\s+not yet \(outcome=UNSET\)$", stdout);
    }

    [Fact]
    public void ShowsTheResultOnceTheJobHasFinished()
    {
        var service = Repo.NewTempFolder("status");
        var live = new LiveStatus("heat", "Jacobi", 2, 1e-6, [], new CommandJournal());
        live.Finish(JobState.Stopped, 77, 77, 1e-3, 1e-6, "stopped on request");
        StatusJson.WriteBeside(Path.Combine(service, "status.html"), live.Snapshot(0));
        var result = new RunResult(RunOutcome.Stopped, 77, 77, 1e-3, 1e-6, TimeSpan.FromSeconds(2), 0, "stopped on request");
        ResultFile.Write(Path.Combine(service, "result.txt"), ResultFile.FormatResult("heat", 2, result));

        var (code, stdout, stderr) = CliProcess.Run(["status", "--journal", "0"], new Dictionary<string, string?> { ["CONVERGENCE_SERVICE_DIR"] = service });

        Assert.True(code == 0, stderr);
        Assert.Matches(@"(?m)^state\s+Stopped$", stdout);
        Assert.Contains("result (result.txt):\n  outcome=STOPPED\n", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("journal", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void AResultWithoutStatusIsStillShown()
    {
        // The entry point writes outcome=FAILED itself when the solver dies before its reporter started.
        var service = Repo.NewTempFolder("status");
        File.WriteAllText(Path.Combine(service, "result.txt"), "outcome=FAILED\nexit_code=134\n");

        var (code, stdout, stderr) = CliProcess.Run(["status", "--service", service]);

        Assert.True(code == 0, stderr);
        Assert.Contains("no status.json yet", stdout, StringComparison.Ordinal);
        Assert.Contains("  outcome=FAILED\n  exit_code=134\n", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void AFolderWithoutStatusOrResultIsAnError()
    {
        var service = Repo.NewTempFolder("status");

        var (code, stdout, stderr) = CliProcess.Run(["status", "--service", service]);

        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("no status.json or result.txt", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData(new[] { "status", "--journal", "many" }, "--journal needs a whole number")]
    [InlineData(new[] { "status", "extra" }, "Unrecognized command or argument 'extra'")]
    [InlineData(new[] { "status", "--verbose" }, "Unrecognized command or argument '--verbose'")]
    [InlineData(new[] { "status", "--service", " " }, "--service needs a folder, got an empty value")]
    public void BadCommandLinesExitWithTwo(string[] args, string expected)
    {
        var (code, _, stderr) = CliProcess.Run(args);

        Assert.Equal(2, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    private static ControlCommand Parse(string text) =>
        new CommandParser([]).Parse(text).Command ?? throw new InvalidOperationException($"'{text}' did not parse");

    [Fact]
    public void AStatusJsonThatIsAFifoOrALink_IsOneLineAndExitOne_WithoutBlocking()
    {
        var service = Repo.NewTempFolder("status-fifo");
        var json = Path.Combine(service, StatusJson.FileName);
        using (var mkfifo = RunningProcess.Start("mkfifo", [json]))
        {
            Assert.Equal(0, mkfifo.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        var (code, stdout, stderr) = CliProcess.Run(["status", "--service", service]);

        Assert.Equal(1, code);
        Assert.Equal($"convergence status: cannot read '{service}': refused: {json} is not a regular file (a FIFO); the job writes only a regular file there", Assert.Single(stderr.TrimEnd('\n').Split('\n')));
        Assert.Equal(string.Empty, stdout);

        File.Delete(json);
        File.CreateSymbolicLink(json, Path.Combine(Repo.NewTempFolder("status-victim"), "x.json"));
        var (linkCode, _, linkError) = CliProcess.Run(["status", "--service", service]);
        Assert.Equal(1, linkCode);
        Assert.Contains($"refused: {json} is a symbolic link", linkError, StringComparison.Ordinal);
    }
}
