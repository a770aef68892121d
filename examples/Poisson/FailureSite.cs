namespace Convergence.Examples.Poisson;

/// <summary>Where <c>--fail-at-iteration</c> throws: the test hook for the framework's failure paths.</summary>
public enum FailureSite
{
    /// <summary>In <c>Iterate</c>, on the main thread.</summary>
    Main,

    /// <summary>On a background thread started at that iteration; the main thread goes on iterating.</summary>
    Thread,

    /// <summary>On a background thread, while the main thread sleeps for an hour (never reaches a boundary).</summary>
    ThreadWhileMainStuck,

    /// <summary>Nothing is thrown: the main thread stops for an hour in that iteration (a hung rank, for the stall watchdog).</summary>
    Stuck,
}
