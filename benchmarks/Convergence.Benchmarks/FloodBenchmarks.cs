using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Convergence.Commands;
using Convergence.Intake;
using Convergence.Journal;
using Convergence.Output;

namespace Convergence.Benchmarks;

/// <summary>
/// Rank 0's watcher consuming a flood of random bytes followed by one valid command on its own line: the
/// time until that command is queued, next to a plain read of the same bytes. Each iteration also checks
/// the targets it is about (the log stays under 1 MB and printable, the command is accepted) and fails the
/// run when one is missed.
/// </summary>
/// <remarks>
/// The flood is written once, before the first iteration; every iteration follows the file from its start
/// (replay), which is the same read-and-parse path as bytes appended while a job runs. The wiring is the
/// job's own: <see cref="NotificationTail"/>, <see cref="CommandIntake"/>, a <see cref="CommandJournal"/>
/// that logs through a real <see cref="JobLog"/> (here into a counting writer instead of stdout).
/// The size is <c>CONVERGENCE_FLOOD_MB</c> (default 1024; the smoke test uses a small one).
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class FloodBenchmarks : OwningBenchmark
{
    /// <summary>The command after the flood; the iteration ends when it is queued.</summary>
    private static readonly byte[] Follower = "\nSTOP #after\n"u8.ToArray();

    private string _folder = null!;
    private string _path = null!;
    private CountingWriter _out = null!;
    private JobLog _log = null!;
    private CommandJournal _journal = null!;
    private CommandIntake? _intake;
    private bool _accepted;

    /// <summary>The flood's size in MB.</summary>
    [ParamsSource(nameof(Sizes))]
    public int FloodMegabytes { get; set; }

    /// <summary>From <c>CONVERGENCE_FLOOD_MB</c>, default 1024.</summary>
    public static IEnumerable<int> Sizes =>
        [int.TryParse(Environment.GetEnvironmentVariable("CONVERGENCE_FLOOD_MB"), NumberStyles.None, CultureInfo.InvariantCulture, out var mb) && mb > 0 ? mb : 1024];

    /// <summary>Writes the flood (seeded random bytes) and the command after it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "convergence-bench", $"flood-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
        _path = Path.Combine(_folder, "notifications.txt");
        var random = new Random(12);
        var block = new byte[1 << 20];
        using var file = new FileStream(_path, FileMode.Create, FileAccess.Write);
        for (var i = 0; i < FloodMegabytes; i++)
        {
            random.NextBytes(block);
            file.Write(block);
        }

        file.Write(Follower);
    }

    /// <summary>A fresh log and journal (outside the timed region).</summary>
    [IterationSetup]
    public void StartIteration()
    {
        _out = new CountingWriter();
        _log = new JobLog(string.Empty, _out);
        _journal = new CommandJournal(_log.WriteAlways);
        _accepted = false;
    }

    /// <summary>Stops the watcher, checks the targets and prints what the log received.</summary>
    [IterationCleanup]
    public void EndIteration()
    {
        if (_intake is null)
        {
            // The baseline's iteration: nothing was started.
            _log.Dispose();
            return;
        }

        _intake.Dispose();
        _intake = null;
        _log.Dispose();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// flood {FloodMegabytes} MB: log {_out.Bytes} bytes in {_out.Lines} lines, rejected {_journal.RejectedCount}, accepted {_journal.ReceivedCount}, printable {_out.Printable}, dropped {_log.DroppedCount}"));
        if (!_accepted || _out.Bytes > 1_000_000 || !_out.Printable)
        {
            throw new InvalidOperationException($"flood target missed: command accepted={_accepted}, log {_out.Bytes} bytes (limit 1,000,000), printable={_out.Printable} (first raw character: {_out.FirstRaw})");
        }
    }

    /// <summary>Removes the flood.</summary>
    protected override void ReleaseOwned()
    {
        // The intake and the log end with each iteration (EndIteration); one still open here was interrupted.
        if (_intake is not null)
        {
            _intake.Dispose();
            _log?.Dispose();
        }

        _out?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Reads the same bytes in 1 MB chunks and counts the line ends: the least any reader does.</summary>
    [Benchmark(Baseline = true)]
    public long ReadOnly()
    {
        using var handle = File.OpenHandle(_path);
        var buffer = new byte[1 << 20];
        long offset = 0;
        long lines = 0;
        int read;
        while ((read = RandomAccess.Read(handle, buffer, offset)) > 0)
        {
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
            offset += read;
        }

        return lines;
    }

    /// <summary>The watcher from the file's first byte until the command after the flood is queued.</summary>
    [Benchmark]
    public long WatcherConsumesFlood()
    {
        _intake = new CommandIntake(
            new NotificationTail(_path, replayExisting: true),
            new CommandParser(),
            _journal,
            TimeSpan.FromMilliseconds(250),
            useChangeNotifications: false,
            _log.Write);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        PendingCommand pending;
        while (!_intake.TryDequeue(out pending))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the command after the flood was not queued within 5 minutes");
            }

            Thread.Sleep(1);
        }

        _accepted = pending.Command.ClientId == "after";
        return _journal.RejectedCount;
    }

    /// <summary>
    /// Counts what would have reached stdout, and whether all of it was printable: no control character but
    /// the line end, no format character, no U+FFFD (what a raw binary byte decodes to). Valid UTF-8 text in a
    /// rejected line may show as text.
    /// </summary>
    private sealed class CountingWriter : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public long Bytes { get; private set; }

        public long Lines { get; private set; }

        public bool Printable { get; private set; } = true;

        public string FirstRaw { get; private set; } = "none";

        public override void Write(char value)
        {
            Bytes += value < 0x80 ? 1 : Encoding.UTF8.GetByteCount([value]);
            Lines += value == '\n' ? 1 : 0;
            if (Printable && value != '\n' && (char.IsControl(value) || char.GetUnicodeCategory(value) == UnicodeCategory.Format || value == '\uFFFD'))
            {
                Printable = false;
                FirstRaw = $"U+{(int)value:X4} after {Bytes} bytes";
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? string.Empty)
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value)
        {
            Write(value);
            Write('\n');
        }
    }
}
