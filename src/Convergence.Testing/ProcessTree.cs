using System.Globalization;

namespace Convergence.Testing;

/// <summary>A process's descendants, read from <c>/proc</c>: the ranks a launcher started, to be sure they are gone after a kill.</summary>
internal static class ProcessTree
{
    /// <summary>Every live descendant of <paramref name="root"/> (children, their children, …); empty where <c>/proc</c> is missing.</summary>
    public static IReadOnlyList<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var folder in Directory.Exists("/proc") ? Directory.EnumerateDirectories("/proc") : [])
        {
            if (int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Stat(pid) is { } stat && stat.State != 'Z')
            {
                parents[pid] = stat.Parent;
            }
        }

        var found = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (pid, _) in parents.Where(p => p.Value == parent))
            {
                found.Add(pid);
                frontier.Enqueue(pid);
            }
        }

        return found;
    }

    /// <summary>True once <paramref name="pid"/> no longer runs (it is gone or a zombie waiting to be reaped).</summary>
    public static bool IsGone(int pid) => Stat(pid) is not { State: not 'Z' };

    /// <summary>The state letter and parent of <paramref name="pid"/> from <c>/proc/PID/stat</c>; null when it is gone.</summary>
    private static (char State, int Parent)? Stat(int pid)
    {
        try
        {
            // "pid (command) S ppid …": the command may hold spaces and parentheses, so read after the last ')'.
            var text = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat"));
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
