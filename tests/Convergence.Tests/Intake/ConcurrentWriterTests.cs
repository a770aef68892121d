using System.Globalization;
using Convergence.Intake;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Intake;

/// <summary>
/// A second process appends thousands of messages in bursts while this process — the job's side —
/// deletes, renames and re-creates the file at random moments: every message must arrive exactly once, in order.
/// </summary>
public sealed class ConcurrentWriterTests(ITestOutputHelper output) : IDisposable
{
    private const int Messages = 4000;

    /// <summary>
    /// One append per message, as the service does (bash's printf writes a short line in one call). Bursts of
    /// 1–80 messages with short pauses; line lengths vary so reads cut lines at arbitrary places.
    /// </summary>
    private const string Writer = """
        f=$1; n=$2; RANDOM=$3
        pad=""; pads=("" "x" "$(printf '%0300d' 0)" "$(printf '%03000d' 0)")
        i=1; burst=0
        while [ "$i" -le "$n" ]; do
          if [ "$burst" -le 0 ]; then
            burst=$((RANDOM % 80 + 1))
            sleep "0.00$((RANDOM % 9 + 1))"
            pad=${pads[$((RANDOM % 4))]}
          fi
          printf 'msg %d %s\n' "$i" "$pad" >> "$f"
          i=$((i + 1)); burst=$((burst - 1))
        done
        """;

    private readonly string _folder = Repo.NewTempFolder("tailrace");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void EveryMessageArrivesExactlyOnceInOrderWhileTheFileIsReplaced(int seed)
    {
        var path = Path.Combine(_folder, "notifications.txt");
        var random = new Random(seed);
        using var tail = new NotificationTail(path);
        var received = new List<int>(Messages);
        var lines = new List<TailLine>();
        int deletes = 0, renames = 0, creates = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);

        using var writer = RunningProcess.Start("/bin/bash", ["-c", Writer, "writer", path, Messages.ToString(CultureInfo.InvariantCulture), seed.ToString(CultureInfo.InvariantCulture)]);
        while (true)
        {
            // Read whether the writer has finished before polling: once it has, this poll sees everything.
            var writerDone = writer.HasExited;
            lines.Clear();
            tail.Poll(lines);
            foreach (var line in lines)
            {
                Assert.True(line.Text is not null, $"rejected after message {received.LastOrDefault()}: {line.Rejection} ({line.Preview})");
                var number = int.Parse(line.Text!.Split(' ')[1], CultureInfo.InvariantCulture);
                Assert.True(number == received.Count + 1, $"expected message {received.Count + 1}, got {number}");
                received.Add(number);
            }

            if (writerDone && !tail.HasMore)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"only {received.Count} of {Messages} messages within the deadline\n{writer.Output}");

            // The job's side, between two polls, at random moments.
            switch (random.Next(12))
            {
                case 0:
                    deletes += tail.TryRemoveFile() ? 1 : 0;
                    break;
                case 1:
                    renames += tail.TryRemoveFile(Path.Combine(_folder, $"renamed-{renames}.txt")) ? 1 : 0;
                    break;
                case 2:
                    creates += TryCreateEmpty(path) ? 1 : 0;
                    break;
            }

            Thread.Sleep(random.Next(0, 3));
        }

        Assert.Equal(0, writer.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.Equal(Messages, received.Count);
        Assert.Equal(Enumerable.Range(1, Messages), received);
        output.WriteLine($"seed {seed}: {deletes} deletes, {renames} renames, {creates} re-creations, {tail.BytesRead} bytes read, {tail.OpenFiles} files open");
        Assert.True(deletes > 0 && renames > 0 && creates > 0, $"the file was not replaced enough: {deletes} deletes, {renames} renames, {creates} creations");
    }

    /// <summary>Creates an empty file if none is there; never truncates one a sender has just created.</summary>
    private static bool TryCreateEmpty(string path)
    {
        try
        {
            using var created = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
