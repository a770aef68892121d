using Convergence.Control;

namespace Convergence.Tests.Control;

public sealed class SingleProcessCoordinatorTests
{
    [Fact]
    public void Gather_CopiesSendIntoReceive_TheOneRanksShareOfTheResult()
    {
        var coordinator = new SingleProcessCoordinator();
        double[] send = [1.5, -2, 3];
        var receive = new double[3];

        coordinator.Gather(send, receive);

        Assert.Equal(send, receive);
    }
}
