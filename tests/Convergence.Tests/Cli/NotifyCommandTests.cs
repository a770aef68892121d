using System.Text;
using Convergence.Cli.Commands;
using Convergence.FileSystem;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cli;

public sealed class NotifyCommandTests
{
    [Fact]
    public void EachMessageIsAppendedWithOneNewline()
    {
        var service = Repo.NewTempFolder("notify");
        File.WriteAllText(Path.Combine(service, "notifications.txt"), "OLD\n");

        var (code, stdout, stderr) = CliProcess.Run(["notify", "--service", service, "STOP", "CHANGE_TOLERANCE 1e-8", "A\nB"]);

        Assert.True(code == 0, stderr);
        Assert.Contains("sent 3 messages", stdout, StringComparison.Ordinal);
        Assert.Equal("OLD\nSTOP\nCHANGE_TOLERANCE 1e-8\nA\nB\n", File.ReadAllText(Path.Combine(service, "notifications.txt")));
    }

    [Fact]
    public void CreatesTheFileAsTheServiceDoesWhenItIsMissing()
    {
        var service = Repo.NewTempFolder("notify");

        var (code, _, stderr) = CliProcess.Run(["notify", $"--service={service}", "CHECKPOINT #7f3a"]);

        Assert.True(code == 0, stderr);
        Assert.Equal("CHECKPOINT #7f3a\n", File.ReadAllText(Path.Combine(service, "notifications.txt")));
    }

    [Fact]
    public void TheServiceFolderComesFromTheEnvironmentWhenNotGiven()
    {
        var service = Repo.NewTempFolder("notify");

        var (code, _, stderr) = CliProcess.Run(["notify", "--", "-STOP"], new Dictionary<string, string?> { ["CONVERGENCE_SERVICE_DIR"] = service });

        Assert.True(code == 0, stderr);
        Assert.Equal("-STOP\n", File.ReadAllText(Path.Combine(service, "notifications.txt")));
    }

    [Theory]
    [InlineData(new[] { "notify" }, "no message given")]
    [InlineData(new[] { "notify", "--service" }, "Required argument missing for option: '--service'")]
    [InlineData(new[] { "notify", "--service=", "STOP" }, "option '--service' needs a value, got an empty one")]
    [InlineData(new[] { "notify", "--bogus", "STOP" }, "Unrecognized command or argument '--bogus'")]
    [InlineData(new[] { "notify", "STOP", " " }, "message 2 is empty")]
    [InlineData(new[] { "frobnicate" }, "convergence: Unrecognized command or argument 'frobnicate'")]
    [InlineData(new[] { "notfy", "STOP" }, "Unrecognized command or argument 'notfy' (did you mean 'notify'?)")]
    [InlineData(new[] { "notify", "--servce", "/tmp", "STOP" }, "Unrecognized command or argument '--servce' (did you mean '--service'?)")]
    public void BadCommandLinesExitWithTwoAndOneLine(string[] args, string expected)
    {
        var service = Repo.NewTempFolder("notify");

        var (code, stdout, stderr) = CliProcess.Run(args, new Dictionary<string, string?> { ["CONVERGENCE_SERVICE_DIR"] = service });

        Assert.Equal(2, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal(string.Empty, stdout);
        Assert.False(File.Exists(Path.Combine(service, "notifications.txt")), "nothing may be sent on a bad command line");
    }

    [Fact]
    public void AMissingServiceFolderIsAnErrorWithExitCodeOne()
    {
        var missing = Path.Combine(Repo.NewTempFolder("notify"), "no-such-folder");

        var (code, _, stderr) = CliProcess.Run(["notify", "--service", missing, "STOP"]);

        Assert.Equal(1, code);
        Assert.Contains($"service folder '{missing}' does not exist", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void HelpDescribesUsageAndExitsWithZero()
    {
        var (code, stdout, _) = CliProcess.Run(["notify", "--help"]);
        var (topCode, topStdout, _) = CliProcess.Run(["-h"]);

        Assert.Equal(0, code);
        Assert.Contains("Usage:\n  convergence notify [<message>...] [options]", stdout, StringComparison.Ordinal);
        Assert.Contains("--service <dir>", stdout, StringComparison.Ordinal);
        Assert.Contains("-?, -h, --help", stdout, StringComparison.Ordinal);
        Assert.Equal(0, topCode);
        Assert.Contains("notify", topStdout, StringComparison.Ordinal);
        Assert.Contains("status", topStdout, StringComparison.Ordinal);
    }

    [Fact]
    public void ASymlinkAtTheNotificationsPath_IsRefusedWithExitTwo_AndItsTargetIsUntouched()
    {
        // Anyone who can write the service folder could plant this link to a file of the user's.
        var service = Repo.NewTempFolder("notify-link");
        var target = Path.Combine(Repo.NewTempFolder("notify-victim"), "thesis.tex");
        File.WriteAllText(target, "\\section{Results}\n");
        var notifications = Path.Combine(service, "notifications.txt");
        File.CreateSymbolicLink(notifications, target);

        var (code, stdout, stderr) = CliProcess.Run(["notify", "--service", service, "STOP"]);

        Assert.Equal(2, code);
        var error = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal($"convergence notify: refused: {notifications} is a symbolic link; the job reads only a regular file there; nothing was sent", error);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("\\section{Results}\n", File.ReadAllText(target));
        Assert.NotNull(new FileInfo(notifications).LinkTarget);

        // A dangling link is not followed either: O_CREAT would otherwise create the file it names.
        var dangling = Path.Combine(Repo.NewTempFolder("notify-victim"), "created-by-link");
        File.Delete(notifications);
        File.CreateSymbolicLink(notifications, dangling);
        Assert.Equal(2, CliProcess.Run(["notify", "--service", service, "STOP"]).Code);
        Assert.False(File.Exists(dangling), "the link's target was created");
    }

    [Fact]
    public void AFifoAtTheNotificationsPath_IsRefusedWithExitTwo_WithoutBlocking()
    {
        // Opening a FIFO for writing blocks until someone reads it; the tool must say no at once instead.
        var service = Repo.NewTempFolder("notify-fifo");
        var notifications = Path.Combine(service, "notifications.txt");
        MakeFifo(notifications);

        var (code, stdout, stderr) = CliProcess.Run(["notify", "--service", service, "STOP"]);

        Assert.Equal(2, code);
        var error = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal($"convergence notify: refused: {notifications} is not a regular file (a FIFO or socket with no reader); the job reads only a regular file there; nothing was sent", error);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public void AFifoWithAReader_IsRefusedAfterOpening_AndReceivesNothing()
    {
        // With a reader the open succeeds; the check of what was opened (fstat) must still refuse it.
        var notifications = Path.Combine(Repo.NewTempFolder("append-fifo"), "notifications.txt");
        MakeFifo(notifications);
        using var reader = new FileStream(notifications, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);

        var refused = Assert.Throws<NotARegularFileException>(() => AtomicAppend.Write(notifications, "STOP\n"u8.ToArray()));

        Assert.Equal($"refused: {notifications} is not a regular file (a FIFO); the job reads only a regular file there", refused.Message);

        // What the pipe holds now: only the marker written here, nothing before it.
        reader.Write("X"u8);
        var buffer = new byte[16];
        Assert.Equal("X", Encoding.ASCII.GetString(buffer, 0, reader.Read(buffer)));
    }

    [Fact]
    public void ConcurrentAppendsNeverLoseOrSplitAMessage()
    {
        // FileMode.Append would seek once and then write at that offset, so two writers racing here
        // would overwrite each other; one O_APPEND write per call must keep every block whole.
        var file = Path.Combine(Repo.NewTempFolder("append"), "notifications.txt");
        const int writers = 8;
        const int blocksPerWriter = 3000;
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            for (var i = 0; i < blocksPerWriter; i++)
            {
                AtomicAppend.Write(file, Encoding.UTF8.GetBytes($"W{w} {i} first\nW{w} {i} second\n"));
            }
        })).ToList();

        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var lines = File.ReadAllText(file).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(writers * blocksPerWriter * 2, lines.Length);
        for (var i = 0; i < lines.Length; i += 2)
        {
            Assert.EndsWith(" first", lines[i], StringComparison.Ordinal);
            Assert.Equal(lines[i].Replace(" first", " second", StringComparison.Ordinal), lines[i + 1]);
        }

        Assert.Equal(writers * blocksPerWriter, lines.Distinct().Count() / 2);
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = RunningProcess.Start("mkfifo", [path]);
        Assert.Equal(0, mkfifo.WaitForExit(TimeSpan.FromSeconds(10)));
    }
}
