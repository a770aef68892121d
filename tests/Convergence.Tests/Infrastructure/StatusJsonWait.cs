using System.Diagnostics;
using System.Text.Json;

namespace Convergence.Tests.Infrastructure;

/// <summary>Waits on a running job's <c>status.json</c>.</summary>
public static class StatusJsonWait
{
    /// <summary>
    /// Waits until the status.json in <paramref name="service"/> satisfies <paramref name="condition"/>; fails if the
    /// job ends first or after <paramref name="timeout"/>, naming <paramref name="what"/>.
    /// </summary>
    public static JsonElement Until(string service, RunningProcess job, Func<JsonElement, bool> condition, string what, TimeSpan timeout)
    {
        var path = Path.Combine(service, "status.json");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (File.Exists(path))
            {
                // Written atomically by the job: whatever is there is a whole document.
                var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
                if (condition(root))
                {
                    return root;
                }
            }

            Assert.False(job.HasExited, $"the job ended before {what}\n{job.Output}");
            Assert.True(clock.Elapsed < timeout, $"not within {timeout.TotalSeconds:0} s: {what}\n{(File.Exists(path) ? File.ReadAllText(path) : "(no status.json)")}\n{job.Output}");
            Thread.Sleep(50);
        }
    }
}
