using System.Text;

namespace Convergence.Tests.Infrastructure;

/// <summary>Appends messages to a notifications file from a separate process, as the service does.</summary>
public static class Notify
{
    /// <summary>Appends <paramref name="message"/> plus '\n' with <c>/bin/sh</c> (a second process, one append).</summary>
    public static void Append(string notificationsFile, string message)
    {
        using var p = RunningProcess.Start("/bin/sh", ["-c", "printf '%s\\n' \"$1\" >> \"$2\"", "sh", message, notificationsFile]);
        var code = p.WaitForExit(TimeSpan.FromSeconds(10));
        if (code != 0)
        {
            throw new InvalidOperationException($"append failed ({code}): {p.Output}");
        }
    }

    /// <summary>Reads result.txt into its fields; empty when it does not exist.</summary>
    public static IReadOnlyDictionary<string, string> ReadResult(string serviceFolder)
    {
        var path = Path.Combine(serviceFolder, "result.txt");
        return File.Exists(path) ? Output.ResultFile.Parse(File.ReadAllText(path, Encoding.UTF8)) : new Dictionary<string, string>();
    }
}
