using System.Reflection;
using System.Text.RegularExpressions;
using Convergence.Output;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Status;

public sealed partial class AtomicFileTests
{
    [Fact]
    public void AnotherProcessWithTheSamePid_WritingTheSameFile_DoesNotCollide()
    {
        // Ranks in separate containers (PID namespaces) can have the same process id. Stand in for such a
        // process: its temporary files, named the way a pid-and-counter scheme would name ours next, are
        // already there while we write.
        var folder = Repo.NewTempFolder("pid-namespace");
        var target = Path.Combine(folder, "result.txt");
        var counter = (long)typeof(AtomicFile).GetField("_counter", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var foreign = new List<string>();
        for (var n = counter + 1; n <= counter + 3000; n++)
        {
            var path = Path.Combine(folder, $".result.txt.{Environment.ProcessId}.{n}.tmp");
            File.WriteAllText(path, "the other process's half-written result");
            foreign.Add(path);
        }

        AtomicFile.WriteAllText(target, "outcome=FAILED\n", durable: true);

        Assert.Equal("outcome=FAILED\n", File.ReadAllText(target));
        Assert.All(foreign, p => Assert.Equal("the other process's half-written result", File.ReadAllText(p)));
    }

    [Fact]
    public void DurableWrite_FlushesTheFolderAfterTheRename_ForTheResultOfARealJob()
    {
        // strace shows the system calls a real job makes: result.txt must be fsynced, renamed into place,
        // and then its folder fsynced, or a crash after the job could lose the rename (and the result).
        var service = Repo.NewTempFolder("durable");
        var trace = Path.Combine(service, "..", Path.GetFileName(service) + ".strace");
        using var job = RunningProcess.Start("strace", [
            "-f", "-qq", "-e", "trace=openat,fsync,rename,renameat,renameat2", "-o", trace,
            "dotnet", Repo.Output("examples/Poisson", "Poisson"), "--single-process", "--service", service, "--n", "16", "--max-iterations", "5"]);
        Assert.Equal(4, job.WaitForExit(TimeSpan.FromSeconds(120)));

        var lines = File.ReadAllLines(trace);
        var final = Array.FindLastIndex(lines, l => l.Contains("rename", StringComparison.Ordinal) && l.Contains($"\"{service}/result.txt\"", StringComparison.Ordinal));
        Assert.True(final >= 0, "no rename of result.txt in the trace");
        var folderFd = lines.Skip(final + 1)
            .Select(l => OpenFolder().Match(l))
            .FirstOrDefault(m => m.Success && m.Groups["path"].Value == service);
        Assert.True(folderFd is not null, $"the service folder was not opened after the final rename:\n{string.Join('\n', lines.Skip(final).Take(10))}");
        Assert.Contains(lines.Skip(final + 1), l => l.Contains($"fsync({folderFd!.Groups["fd"].Value})", StringComparison.Ordinal) && l.EndsWith("= 0", StringComparison.Ordinal));
    }

    [GeneratedRegex("""openat\(AT_FDCWD, "(?<path>[^"]+)", O_RDONLY[^)]*\) = (?<fd>\d+)""")]
    private static partial Regex OpenFolder();
}
