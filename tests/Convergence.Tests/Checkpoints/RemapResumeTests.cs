using System.Globalization;
using Convergence.Checkpoints;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// <c>--resume</c> on another rank count (issue 22): the Poisson example declares its field as a global array,
/// so a checkpoint written by N ranks loads on M, each new rank reading its rows from the parts that hold
/// them, and the run ends as an uninterrupted run on M ranks does. Under MPICH and Open MPI, growing and
/// shrinking, to and from one rank.
/// </summary>
/// <remarks>
/// A tiny grid and a loose tolerance keep each run to seconds on two oversubscribed cores. The convergence
/// check runs every 10 iterations (<c>--sync every:10</c>), so the iteration counts must agree within one such
/// interval; Jacobi's field does not depend on the split, so <c>max_error</c> agrees to rounding.
/// </remarks>
[Collection(MpiCollection.Name)]
public sealed class RemapResumeTests(ITestOutputHelper output)
{
    private const int SyncEvery = 10;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);
    private static readonly string[] Grid = ["--n", "12", "--method", "jacobi", "--tolerance", "1e-3", "--sync", $"every:{SyncEvery}", "--status-ms", "200", "--progress-ms", "200"];

    [Theory]
    [InlineData(MpiFamily.MpichAbi, 2, 3)]
    [InlineData(MpiFamily.MpichAbi, 4, 2)]
    [InlineData(MpiFamily.MpichAbi, 3, 1)]
    [InlineData(MpiFamily.MpichAbi, 1, 4)]
    [InlineData(MpiFamily.OpenMpi, 2, 3)]
    [InlineData(MpiFamily.OpenMpi, 4, 2)]
    [InlineData(MpiFamily.OpenMpi, 3, 1)]
    [InlineData(MpiFamily.OpenMpi, 1, 4)]
    public void ResumeOnAnotherRankCount_EndsAsAnUninterruptedRunOnTheNewCount(MpiFamily mpi, int written, int resumed)
    {
        var label = FormattableString.Invariant($"remap-{(mpi == MpiFamily.OpenMpi ? "ompi" : "mpich")}-{written}to{resumed}");
        var referenceService = Repo.NewTempFolder(label + "-ref");
        using (var reference = Start(mpi, resumed, referenceService))
        {
            ExpectExit(reference, 0);
        }

        var expected = Notify.ReadResult(referenceService);
        Assert.Equal("CONVERGED", expected["outcome"]);

        var service = Repo.NewTempFolder(label);
        using (var first = Start(mpi, written, service, "--max-iterations", "100", "--checkpoint-every", "50"))
        {
            ExpectExit(first, 4);
        }

        var store = new CheckpointStore(Path.Combine(service, "checkpoints"));
        var manifest = store.ReadManifest(store.ListIds()[0]);
        Assert.Equal(written, manifest.Ranks);
        var layout = Assert.IsType<CheckpointLayout>(manifest.Layout);
        var field = Assert.Single(layout.Arrays);
        Assert.Equal("u double 12x14", field.Describe());
        Assert.Equal(written, field.Slices.Count);
        Assert.Null(layout.Gap());

        using (var again = Start(mpi, resumed, service, "--resume"))
        {
            ExpectExit(again, 0);
            Assert.Contains($"resumed from {CheckpointStore.NameOf(manifest.Id)} at iteration 100 (total 100)", again.Stdout, StringComparison.Ordinal);
        }

        var actual = Notify.ReadResult(service);
        output.WriteLine($"reference: {expected["total_iterations"]} iterations, max_error {expected["max_error"]}; resumed: {actual["total_iterations"]} iterations, max_error {actual["max_error"]}");
        Assert.Equal("CONVERGED", actual["outcome"]);
        Assert.Equal(resumed.ToString(CultureInfo.InvariantCulture), actual["ranks"]);
        var expectedError = double.Parse(expected["max_error"], CultureInfo.InvariantCulture);
        var actualError = double.Parse(actual["max_error"], CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(actualError - expectedError) <= 1e-12 * Math.Abs(expectedError), $"max_error {actualError:R}, uninterrupted {expectedError:R}");
        var iterations = long.Parse(actual["total_iterations"], CultureInfo.InvariantCulture) - long.Parse(expected["total_iterations"], CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(iterations) <= SyncEvery, $"{actual["total_iterations"]} iterations, uninterrupted {expected["total_iterations"]}");
    }

    private static RunningProcess Start(MpiFamily mpi, int ranks, string service, params string[] args) =>
        RunningProcess.MpiRun(mpi, ranks, PoissonJob.Dll, ["--service", service, .. Grid, .. args]);

    private static void ExpectExit(RunningProcess job, int expected)
    {
        var code = job.WaitForExit(Patience);
        Assert.True(code == expected, $"exit code {code}, expected {expected}\n{job.Output}");
    }
}
