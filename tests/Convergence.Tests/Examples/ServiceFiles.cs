namespace Convergence.Tests.Examples;

/// <summary>Waits for what a running job writes into its service folder (poll with a deadline, never a blind sleep).</summary>
public static class ServiceFiles
{
    /// <summary>Waits until <paramref name="path"/> exists; the status page appears once the job listens for messages.</summary>
    public static void WaitForFile(string path, TimeSpan timeout, Func<string>? context = null) =>
        WaitUntil(() => File.Exists(path), timeout, () => $"{path} did not appear\n{context?.Invoke()}");

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; throws with <paramref name="describe"/> on timeout.</summary>
    public static void WaitUntil(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not within {timeout.TotalSeconds:0} s: {describe()}");
            }

            Thread.Sleep(20);
        }
    }
}
