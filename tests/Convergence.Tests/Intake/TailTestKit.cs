using System.Text;
using Convergence.Intake;

namespace Convergence.Tests.Intake;

/// <summary>Helpers shared by the notification tail tests.</summary>
internal static class TailTestKit
{
    /// <summary>Polls until <paramref name="done"/> holds for everything read so far; fails with what was read on timeout.</summary>
    public static List<TailLine> PollUntil(NotificationTail tail, Func<List<TailLine>, bool> done, TimeSpan? timeout = null)
    {
        var all = new List<TailLine>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            tail.Poll(all);
            if (done(all))
            {
                return all;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met; read so far: {Describe(all)}");
            }

            Thread.Sleep(5);
        }
    }

    /// <summary>One poll's lines.</summary>
    public static List<TailLine> PollOnce(NotificationTail tail)
    {
        var lines = new List<TailLine>();
        tail.Poll(lines);
        return lines;
    }

    /// <summary>Appends raw bytes from this process (for tests where who writes does not matter).</summary>
    public static void AppendBytes(string path, ReadOnlySpan<byte> bytes)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.Write(bytes);
    }

    /// <summary>Appends UTF-8 text from this process.</summary>
    public static void AppendText(string path, string text) => AppendBytes(path, Encoding.UTF8.GetBytes(text));

    /// <summary>Waits until the file at <paramref name="path"/> is <paramref name="length"/> bytes long.</summary>
    public static void WaitForLength(string path, long length, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!File.Exists(path) || new FileInfo(path).Length != length)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{path} did not reach {length} bytes (now {(File.Exists(path) ? new FileInfo(path).Length : -1)})");
            }

            Thread.Sleep(5);
        }
    }

    /// <summary>The texts of accepted lines, failing on any rejection.</summary>
    public static List<string> Texts(IEnumerable<TailLine> lines) =>
        lines.Select(l => l.Text ?? throw new Xunit.Sdk.XunitException($"unexpected rejection: {l.Rejection} ({l.Preview})")).ToList();

    public static string Describe(IEnumerable<TailLine> lines) =>
        string.Join(" | ", lines.Select(l => l.Text ?? $"<rejected: {l.Rejection}: {l.Preview}>"));
}
