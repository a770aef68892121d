using System.Text;
using BenchmarkDotNet.Attributes;
using Convergence.Intake;

namespace Convergence.Benchmarks;

/// <summary>
/// The watcher's poll cost, for a small and a 100 MB notifications file, with one new line appended before
/// each poll (the portal's pattern). The baseline is the append alone, so the difference is the poll.
/// </summary>
/// <remarks>
/// Each iteration starts from the file's base size (it is cut back and a fresh tail opened at its end),
/// so the small file stays small: one iteration appends <see cref="PollsPerIteration"/> short lines.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[InvocationCount(PollsPerIteration)]
public class NotificationTailBenchmarks : OwningBenchmark
{
    private const int PollsPerIteration = 2048;

    private static readonly byte[] Message = Encoding.UTF8.GetBytes("CHANGE_TOLERANCE 1e-8 #7f3a\n");

    private readonly List<TailLine> _lines = [];
    private string _folder = null!;
    private string _path = null!;
    private FileStream _appender = null!;
    private NotificationTail _tail = null!;

    /// <summary>The file's size when each iteration starts.</summary>
    [Params(1024L, 100L * 1024 * 1024)]
    public long FileBytes { get; set; }

    /// <summary>Writes the file once (earlier runs' messages, lines of a realistic length).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "convergence-bench", $"tail-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
        _path = Path.Combine(_folder, "notifications.txt");
        var line = Encoding.UTF8.GetBytes("CHANGE_TOLERANCE 1e-7 #old\n");
        var block = new byte[1 << 20];
        for (var i = 0; i + line.Length <= block.Length; i += line.Length)
        {
            line.CopyTo(block, i);
        }

        using (var file = new FileStream(_path, FileMode.Create, FileAccess.Write))
        {
            for (var written = 0L; written < FileBytes; written += block.Length)
            {
                var count = (int)Math.Min(block.Length, FileBytes - written);
                var whole = count / line.Length * line.Length;
                file.Write(block, 0, whole);
                file.Write(line, 0, count - whole == 0 ? 0 : line.Length);
            }
        }

        FileBytes = new FileInfo(_path).Length;
        _appender = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);
    }

    /// <summary>Cuts the file back to its base size and opens a fresh tail at its end.</summary>
    [IterationSetup]
    public void StartIteration()
    {
        _appender.SetLength(FileBytes);
        _appender.Seek(0, SeekOrigin.End);
        _tail?.Dispose();
        _tail = new NotificationTail(_path);
    }

    /// <summary>Closes the file and removes the folder.</summary>
    protected override void ReleaseOwned()
    {
        _tail?.Dispose();
        _appender?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>One appended line, as the service writes it (one write call).</summary>
    [Benchmark(Baseline = true)]
    public void Append() => _appender.Write(Message);

    /// <summary>One appended line, then one poll that returns it.</summary>
    [Benchmark]
    public int AppendAndPoll()
    {
        _appender.Write(Message);
        _lines.Clear();
        return _tail.Poll(_lines);
    }

    /// <summary>One poll that finds nothing new (most polls in a job's life).</summary>
    [Benchmark]
    public int PollNothingNew()
    {
        _lines.Clear();
        return _tail.Poll(_lines);
    }
}
