using Convergence.Options;
using Convergence.Signals;

namespace Convergence.Testing;

/// <summary>Run options for tests: a service folder of their own and nothing that waits on the clock.</summary>
public static class TestRunOptions
{
    /// <summary>
    /// The framework's defaults, except: a fresh temporary service folder (unless one is given), a sync at every
    /// iteration (a command is applied at the iteration it was sent after), the notifications file polled every
    /// 5 ms without file-system events, no signal handlers and no question to Slurm.
    /// </summary>
    /// <param name="serviceDirectory">The service folder; a new folder under the temporary folder when null.</param>
    /// <returns>The options; change them with a <c>with</c> expression.</returns>
    public static RunOptions Create(string? serviceDirectory = null) => new()
    {
        ServiceDirectory = serviceDirectory ?? NewServiceFolder(),
        Sync = SyncPolicy.Every(1),
        PollInterval = TimeSpan.FromMilliseconds(5),
        UseChangeNotifications = false,
        StatusInterval = TimeSpan.FromMilliseconds(200),
        Signals = SignalMap.None,
        SlurmEndTimeEvery = null,
    };

    /// <summary>A new, empty folder under the temporary folder.</summary>
    /// <returns>Its path.</returns>
    public static string NewServiceFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "convergence-testing", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        return folder;
    }
}
