using System.Runtime.Versioning;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Container;

/// <summary>
/// The image started once, as the service's plain command line does (<c>ch-run … IMAGE -- semwes-entrypoint.sh</c>):
/// the entry point runs the image's own <c>mpirun</c> with 2 ranks inside one container.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(ContainerCollection.Name)]
public sealed class StartedOnceContainerTests(ContainerImages images)
{
    // Jacobi with a tiny tolerance and a pause per iteration: runs until told to stop.
    internal static readonly string[] LongJob = ["--n", "32", "--method", "jacobi", "--tolerance", "1e-14", "--slow-ms", "5", "--status-ms", "100", "--poll-ms", "50"];

    internal static readonly string[] ShortJob = ["--n", "16", "--method", "jacobi", "--tolerance", "1e-2"];

    [Theory]
    [InlineData(ImageFormat.Directory, ImageUser.Root)]
    [InlineData(ImageFormat.SquashFs, ImageUser.Root)]
    [InlineData(ImageFormat.Directory, ImageUser.Unprivileged)]
    [InlineData(ImageFormat.SquashFs, ImageUser.Unprivileged)]
    public void Converges_IsSteered_StopsOnTermWithACheckpoint_AndResumes(ImageFormat format, ImageUser user)
    {
        var image = images.Image(MpiFamily.MpichAbi, format);

        // Converges: the image's first job (the one libssl3's absence used to abort).
        var (service, scratch) = ContainerRun.Folders(user, "ch-once");
        using (var run = ContainerRun.Start(user, image, service, scratch, ShortJob))
        {
            Assert.True(run.WaitForExit(TimeSpan.FromSeconds(120)) == 0, $"{images.BuildTimes}\n{run.Output}");
            Assert.Contains("semwes-entrypoint: starting: mpirun.mpich -np 2 /opt/convergence/app/Poisson", run.Stderr, StringComparison.Ordinal);
        }

        var converged = Notify.ReadResult(service);
        Assert.Equal("CONVERGED", converged["outcome"]);
        Assert.Equal("2", converged["ranks"]);
        ContainerRun.AssertReadableByOthers(service);

        // Steered (CHANGE_TOLERANCE, the solver's own RELAXATION), then SIGTERM to the container: STOPPED with a checkpoint.
        (service, scratch) = ContainerRun.Folders(user, "ch-steer");
        var notifications = Path.Combine(service, "notifications.txt");
        using (var job = ContainerRun.Start(user, image, service, scratch, LongJob))
        {
            ContainerRun.WaitForStatus(service, job, s => s.GetProperty("iteration").GetInt64() > 0, "the first iteration");
            Notify.Append(notifications, "CHANGE_TOLERANCE 1e-13 #tol");
            Notify.Append(notifications, "RELAXATION 0.9 #relax");
            ContainerRun.WaitForStatus(service, job, s => ContainerRun.Applied(s, "tol") && ContainerRun.Applied(s, "relax"), "both commands applied");
            ContainerRun.Signal(job, "TERM");
            Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)) == 0, job.Output);
            Assert.Contains("received TERM", job.Stderr, StringComparison.Ordinal);
        }

        var stopped = Notify.ReadResult(service);
        Assert.Equal("STOPPED", stopped["outcome"]);
        Assert.Equal("1E-13", stopped["tolerance"]);
        Assert.Equal("0.9", stopped["relaxation"]);
        Assert.StartsWith("/service/checkpoints/ckpt-", stopped["checkpoint"], StringComparison.Ordinal);
        Assert.NotEmpty(Directory.GetDirectories(Path.Combine(service, "checkpoints"), "ckpt-*"));
        var stoppedAt = long.Parse(stopped["checkpoint_iteration"], System.Globalization.CultureInfo.InvariantCulture);

        // --resume continues from that checkpoint; a STOP from the host ends it.
        using (var resumed = ContainerRun.Start(user, image, service, scratch, [.. LongJob, "--resume"]))
        {
            resumed.WaitForOutput($"resumed from ckpt-", TimeSpan.FromSeconds(60));
            ContainerRun.WaitForStatus(service, resumed, s => s.GetProperty("iteration").GetInt64() > stoppedAt, "an iteration past the checkpoint");
            Notify.Append(notifications, "STOP #stop");
            Assert.True(resumed.WaitForExit(TimeSpan.FromSeconds(60)) == 0, resumed.Output);
        }

        var final = Notify.ReadResult(service);
        Assert.Equal("STOPPED", final["outcome"]);
        Assert.True(long.Parse(final["total_iterations"], System.Globalization.CultureInfo.InvariantCulture) > stoppedAt, string.Join("\n", final));
    }

    [Fact]
    public void TheOpenMpiImageFindsItsOwnMpiThoughTheRuntimeDidNotApplyItsEnvironment()
    {
        var (service, scratch) = ContainerRun.Folders(ImageUser.Root, "ch-ompi-once");
        using var run = ContainerRun.Start(ImageUser.Root, images.Image(MpiFamily.OpenMpi), service, scratch, ShortJob);

        Assert.True(run.WaitForExit(TimeSpan.FromSeconds(120)) == 0, run.Output);
        Assert.Contains("semwes-entrypoint: starting: mpirun.openmpi --oversubscribe -np 2 /opt/convergence/app/Poisson", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("ranks=2 (Open MPI v", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("CONVERGED", Notify.ReadResult(service)["outcome"]);
    }

    [Fact]
    public void WithoutAServiceFolderBoundTheEntryPointStopsWithExit2AndOneLine()
    {
        var (_, scratch) = ContainerRun.Folders(ImageUser.Root, "ch-nobind");
        using var run = ContainerRun.Start(ImageUser.Root, images.Image(MpiFamily.MpichAbi), service: null, scratch, ShortJob);

        Assert.Equal(2, run.WaitForExit(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(run.Stderr.Split('\n'), l => l.Length > 0);
        Assert.EndsWith("semwes-entrypoint: error: service folder /service is not writable (bind a writable host folder there: apptainer -B HOSTDIR:/service, ch-run -b HOSTDIR:/service)", line, StringComparison.Ordinal);
    }
}
