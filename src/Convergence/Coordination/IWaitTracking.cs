namespace Convergence.Coordination;

/// <summary>A coordinator that marks its blocking calls in a <see cref="RankActivity"/> (the MPI coordinator does).</summary>
public interface IWaitTracking
{
    /// <summary>Every blocking call from now on enters and leaves a wait in <paramref name="activity"/>.</summary>
    void TrackWaits(RankActivity activity);
}
