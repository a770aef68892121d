using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Convergence.Intake;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Intake;

/// <summary>
/// Random schedules, seeded and repeatable, of a writer appending tagged lines to the notifications file while
/// the file is renamed away, deleted, truncated, rewritten with its old content first (<c>sed -i</c>), rewritten
/// anew, or replaced by a FIFO, a symbolic link, a folder or a file whose every read fails; meanwhile the read
/// layer fails reads at random with EINTR, EIO or ESTALE.
/// </summary>
/// <remarks>
/// <para>
/// Each schedule is one thread doing one thing after another, so a seed replays it exactly
/// (<c>CONVERGENCE_FAULT_SEED=n</c> runs that schedule alone, with a full trace on failure;
/// <c>CONVERGENCE_FAULT_SCHEDULES</c> sets how many, 300 by default; <c>CONVERGENCE_FAULT_FIRST_SEED</c> the first seed).
/// </para>
/// <para>
/// Invariants checked: no poll throws; every line is delivered at most once, in the order written (tags
/// increase); nothing written before the start (tags <c>P</c>) and nothing written into a link's target (tags
/// <c>T</c>) is ever delivered; after every poll in which no fault was injected, every complete line of the
/// regular file at the path has been delivered (a file that stays at the path long enough to be read is read
/// whole); at the end, with faults healed, a STOP is delivered within a bounded number of polls and time, the
/// replaced files are all closed once their grace period is over, and no descriptor is left open.
/// </para>
/// <para>
/// A truncation is followed by a poll: a file cut and refilled past the old length between two looks cannot be
/// told from one that only grew (as with <c>tail -F</c>), which the documentation states.
/// </para>
/// </remarks>
public sealed partial class IntakeFaultInjectionTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Repo.NewTempFolder("fault-fuzz");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void RandomSchedules_DeliverEveryLineOnceInOrder_AndTheIntakeNeverStops()
    {
        var only = Environment.GetEnvironmentVariable("CONVERGENCE_FAULT_SEED");
        var count = int.TryParse(Environment.GetEnvironmentVariable("CONVERGENCE_FAULT_SCHEDULES"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 300;
        var first = int.TryParse(Environment.GetEnvironmentVariable("CONVERGENCE_FAULT_FIRST_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var f) ? f : 1;
        var seeds = only is null ? Enumerable.Range(first, count) : [int.Parse(only, CultureInfo.InvariantCulture)];
        var watch = Stopwatch.StartNew();
        long actions = 0, polls = 0, faults = 0, delivered = 0, checkedPolls = 0;
        foreach (var seed in seeds)
        {
            using var schedule = new Schedule(seed, Path.Combine(_root, seed.ToString(CultureInfo.InvariantCulture)));
            try
            {
                schedule.Run();
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException(
                    $"schedule seed={seed} failed (replay: CONVERGENCE_FAULT_SEED={seed}): {ex.Message}\nlast actions: {schedule.History}\n{ex}");
            }

            actions += schedule.Actions;
            polls += schedule.Polls;
            faults += schedule.Faults;
            delivered += schedule.Delivered;
            checkedPolls += schedule.CheckedPolls;
        }

        output.WriteLine(FormattableString.Invariant(
            $"{seeds.Count()} schedules, {actions} actions, {polls} polls ({checkedPolls} without faults on a regular file, checked for completeness), {faults} injected read faults, {delivered} lines delivered, {watch.Elapsed.TotalSeconds:0.0} s"));
    }

    /// <summary>One random schedule in a folder of its own.</summary>
    private sealed partial class Schedule(int seed, string folder) : IDisposable
    {
        private readonly Random _random = new(seed);

        // A third of the schedules close replaced files at the end of the poll that retired them: expiry
        // then happens at a known point instead of depending on how loaded the machine is.
        private readonly TimeSpan _grace = seed % 3 == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(30);
        private readonly FaultyReader _reader = new(seed);
        private readonly string _path = Path.Combine(folder, "notifications.txt");
        private readonly string _elsewhere = Path.Combine(folder, "elsewhere");
        private readonly List<int> _deliveredTags = [];
        private readonly HashSet<int> _deliveredSet = [];
        private readonly Queue<string> _history = new();
        private int _next = 1;
        private int _moved;
        private NotificationTail _tail = null!;

        public long Actions { get; private set; }

        public long Polls { get; private set; }

        public long Faults => _reader.Injected;

        public int Delivered => _deliveredTags.Count;

        public long CheckedPolls { get; private set; }

        public string History => string.Join("; ", _history);

        public void Dispose() => _tail.Dispose();

        public void Run()
        {
            Directory.CreateDirectory(folder);
            Directory.CreateDirectory(_elsewhere);
            var before = Posix.OpenDescriptorsUnder(folder);
            WriteEarlierRun();
            _tail = new NotificationTail(_path, 4096, false, null, _reader) { RetiredGrace = _grace };
            try
            {
                if (_random.Next(2) == 0)
                {
                    // A sender still finishing the earlier run's last line.
                    AppendIfRegular("\n");
                }

                var steps = _random.Next(20, 60);
                for (var i = 0; i < steps; i++)
                {
                    Act();
                    if (_random.Next(2) == 0)
                    {
                        Poll();
                    }
                }

                Finish();
            }
            finally
            {
                _tail.Dispose();
            }

            Assert.Equal(before, Posix.OpenDescriptorsUnder(folder));
        }

        private void WriteEarlierRun()
        {
            var lines = _random.Next(0, 4);
            var text = new StringBuilder();
            for (var i = 0; i < lines; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"P{i:D6}\n");
            }

            if (_random.Next(2) == 0)
            {
                text.Append("P999999");
            }

            if (text.Length > 0 || _random.Next(2) == 0)
            {
                File.WriteAllText(_path, text.ToString());
                if (_random.Next(2) == 0)
                {
                    File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddMinutes(-5));
                }
            }
        }

        private void Act()
        {
            Actions++;
            var roll = _random.Next(100);
            switch (roll)
            {
                case < 40:
                    Note("append");
                    AppendIfRegular(NewLines(_random.Next(1, 4)));
                    break;
                case < 47:
                    Note("split append");
                    var line = NewLines(1);
                    AppendIfRegular(line[..3]);
                    Poll();
                    AppendIfRegular(line[3..]);
                    break;
                case < 52:
                    Note("rename away");
                    MoveAway();
                    break;
                case < 56:
                    Note("delete");
                    RemovePath();
                    break;
                case < 60:
                    Note("truncate");
                    if (IsRegular())
                    {
                        File.WriteAllText(_path, string.Empty);
                        Poll();
                    }

                    break;
                case < 64:
                    Note("rename away, truncate the moved file, new file");
                    if (MoveAway() is { } moved)
                    {
                        File.WriteAllText(moved, string.Empty);
                    }

                    ReplaceWith(NewLines(_random.Next(1, 3)));
                    break;
                case < 72:
                    Note("sed -i");
                    if (IsRegular())
                    {
                        var old = File.ReadAllText(_path);
                        ReplaceWith((old.Length > 0 && !old.EndsWith('\n') ? old + "\n" : old) + NewLines(_random.Next(1, 3)));
                    }

                    break;
                case < 75:
                    Note("rewrite anew");
                    ReplaceWith(NewLines(_random.Next(1, 3)));
                    break;
                case < 78:
                    Note("fifo");
                    RemovePath();
                    Posix.MakeFifo(_path);
                    break;
                case < 81:
                    Note("symlink");
                    RemovePath();
                    var target = Path.Combine(_elsewhere, "target.txt");
                    File.AppendAllText(target, FormattableString.Invariant($"T{_next:D6}\n"));
                    File.CreateSymbolicLink(_path, target);
                    break;
                case < 83:
                    Note("folder");
                    RemovePath();
                    Directory.CreateDirectory(_path);
                    break;
                case < 87:
                    Note("unreadable file");
                    var temp = Path.Combine(folder, ".unreadable");
                    File.WriteAllText(temp, NewLines(_random.Next(1, 3)));
                    using (var handle = File.OpenHandle(temp))
                    {
                        _reader.MakeUnreadable(UnixFileStatus.Stat(handle).Identity.Inode);
                    }

                    RemovePath();
                    File.Move(temp, _path);
                    break;
                case < 95:
                    _reader.Probability = _reader.Probability > 0 ? 0 : 0.05 + (_random.NextDouble() * 0.3);
                    Note(FormattableString.Invariant($"faults p={_reader.Probability:0.00}"));
                    break;
                default:
                    Note("poll");
                    Poll();
                    break;
            }
        }

        private void Finish()
        {
            Note("finish");
            _reader.Heal();
            RemovePath();
            File.WriteAllText(_path, "STOP #end\n");
            var watch = Stopwatch.StartNew();
            var stopped = false;
            for (var i = 0; i < 2000 && !stopped; i++)
            {
                stopped = Poll();
                if (!stopped)
                {
                    Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "STOP not received within 10 s");
                    Thread.Sleep(1);
                }
            }

            Assert.True(stopped, "STOP not received within 2000 polls");
            Thread.Sleep(_grace * 2 + TimeSpan.FromMilliseconds(1));
            Poll();
            Assert.Equal(1, _tail.OpenFiles);
        }

        /// <summary>Polls once and checks the invariants; true when the final STOP came.</summary>
        private bool Poll()
        {
            Polls++;
            var faultsBefore = _reader.Injected;
            var lines = new List<TailLine>();
            _tail.Poll(lines);
            if (Environment.GetEnvironmentVariable("CONVERGENCE_FAULT_SEED") is not null)
            {
                Note($"poll[{_reader.Injected - faultsBefore} faults, warning={_tail.Warning}, notice={_tail.TakeNotice()}]: {TailTestKit.Describe(lines)}");
            }

            var stop = false;
            foreach (var line in lines)
            {
                if (line.Text is not { } text)
                {
                    continue;
                }

                stop |= text == "STOP #end";
                foreach (Match match in Tag().Matches(text))
                {
                    Assert.True(text.Length == 7 && match.Groups[1].Value == "L", $"delivered '{text}', which was never written as a line after the start");
                    var tag = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
                    Assert.True(_deliveredSet.Add(tag), $"L{tag:D6} delivered twice");
                    if (_deliveredTags.Count > 0 && _deliveredTags[^1] > tag)
                    {
                        Assert.Fail($"L{tag:D6} delivered after L{_deliveredTags[^1]:D6}");
                    }

                    _deliveredTags.Add(tag);
                }
            }

            if (_reader.Injected == faultsBefore && IsRegular())
            {
                // A poll without faults reads the file at the path whole.
                CheckedPolls++;
                foreach (var line in File.ReadAllText(_path).Split('\n')[..^1])
                {
                    if (Tag().Match(line) is { Success: true } match && line.Length == 7 && match.Groups[1].Value == "L")
                    {
                        var tag = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
                        Assert.True(_deliveredSet.Contains(tag), $"L{tag:D6} is in the file at the path but was not delivered by a poll without faults");
                    }
                }
            }

            return stop;
        }

        private string NewLines(int count)
        {
            var text = new StringBuilder();
            for (var i = 0; i < count; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"L{_next++:D6}\n");
            }

            return text.ToString();
        }

        private bool IsRegular() => UnixFileStatus.TryStat(_path, out var status) && status.IsRegularFile;

        /// <summary>Appends as a sender does (creating the file), but only to a regular file: senders do not follow links.</summary>
        private void AppendIfRegular(string text)
        {
            if (!UnixFileStatus.TryStat(_path, out var status) || status.IsRegularFile)
            {
                File.AppendAllText(_path, text);
            }
        }

        private string? MoveAway()
        {
            if (!IsRegular())
            {
                return null;
            }

            var moved = Path.Combine(folder, FormattableString.Invariant($"moved-{_moved++}.txt"));
            File.Move(_path, moved);
            return moved;
        }

        private void ReplaceWith(string content)
        {
            var temp = Path.Combine(folder, ".rewrite");
            File.WriteAllText(temp, content);
            RemovePath();
            File.Move(temp, _path);
        }

        private void RemovePath()
        {
            if (!UnixFileStatus.TryStat(_path, out var status))
            {
                return;
            }

            if (status.Kind == "a directory")
            {
                Directory.Delete(_path);
            }
            else
            {
                File.Delete(_path);
            }
        }

        private void Note(string action)
        {
            _history.Enqueue(action);
            if (_history.Count > (Environment.GetEnvironmentVariable("CONVERGENCE_FAULT_SEED") is null ? 12 : 10_000))
            {
                _history.Dequeue();
            }
        }

        [GeneratedRegex("([LPT])([0-9]{6})")]
        private static partial Regex Tag();
    }
}
