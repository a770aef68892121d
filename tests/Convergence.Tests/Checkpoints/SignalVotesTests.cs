using Convergence.Signals;

namespace Convergence.Tests.Checkpoints;

public sealed class SignalVotesTests
{
    [Fact]
    public void VotesAreTakenOnceAndAStopVoteDoesNotHideACheckpointVote()
    {
        using var votes = new SignalVotes(SignalMap.None, _ => { });

        Assert.Equal((false, false), votes.Take());
        votes.Raise(SignalAction.Checkpoint);
        votes.Raise(SignalAction.Stop);
        votes.Raise(SignalAction.Ignore);

        Assert.Equal((true, true), votes.Take());
        Assert.Equal((false, false), votes.Take());
    }
}
