using Convergence.Coordination;

namespace Convergence.Tests.Control;

/// <summary><see cref="ICoordinator.Gather"/> on one process: rank 0 receives its own values; a wrong buffer is refused.</summary>
public sealed class SingleProcessGatherTests
{
    [Fact]
    public void Gather_OnOneProcess_CopiesTheValuesToRankZerosBuffer()
    {
        var receive = new double[3];

        new SingleProcessCoordinator().Gather([1.5, -2, 3], receive);

        Assert.Equal([1.5, -2, 3], receive);
    }

    [Fact]
    public void Gather_WithABufferOfTheWrongSize_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SingleProcessCoordinator().Gather([1.0, 2.0], new double[1]));

        Assert.Contains("receives 2 values from 1 rank", ex.Message, StringComparison.Ordinal);
    }
}
