using System.Runtime.Versioning;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Container;

/// <summary>
/// The platform's MPI jobs under a user-namespace runtime: the host's <c>mpirun</c> starts one
/// <c>ch-run</c> container per rank (<c>mpirun -np 2 ch-run … IMAGE -- semwes-entrypoint.sh …</c>), and
/// the copies form one 2-rank job; a host MPI that is not the image's is refused; a job whose MPI_Init
/// fails still ends with a result.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(ContainerCollection.Name)]
public sealed class HostLaunchedContainerTests(ContainerImages images)
{
    [Theory]
    [InlineData(MpiFamily.MpichAbi, ImageUser.Root, "MPICH")]
    [InlineData(MpiFamily.MpichAbi, ImageUser.Unprivileged, "MPICH")]
    [InlineData(MpiFamily.OpenMpi, ImageUser.Root, "Open MPI")]
    [InlineData(MpiFamily.OpenMpi, ImageUser.Unprivileged, "Open MPI")]
    public void OneContainerPerRank_IsOneTwoRankJob_SteeredThroughTheServiceFolder(MpiFamily mpi, ImageUser user, string family)
    {
        var (service, scratch) = ContainerRun.Folders(user, "ch-host");
        var notifications = Path.Combine(service, "notifications.txt");
        using var job = ContainerRun.Start(user, images.Image(mpi), service, scratch, StartedOnceContainerTests.LongJob, hostLauncher: mpi);

        ContainerRun.WaitForStatus(service, job, s => s.GetProperty("iteration").GetInt64() > 0, "the first iteration");
        Notify.Append(notifications, "CHANGE_TOLERANCE 1e-13 #tol");
        Notify.Append(notifications, "RELAXATION 0.9 #relax");
        ContainerRun.WaitForStatus(service, job, s => ContainerRun.Applied(s, "tol") && ContainerRun.Applied(s, "relax"), "both commands applied");
        Notify.Append(notifications, "STOP #stop");

        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(90)) == 0, $"{images.BuildTimes}\n{job.Output}");
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("2", result["ranks"]);
        Assert.Equal("1E-13", result["tolerance"]);
        Assert.Equal("0.9", result["relaxation"]);
        ContainerRun.AssertReadableByOthers(service);

        // One job: one start line naming both ranks and the host's launcher, one entry-point announcement.
        Assert.Single(job.Stdout.Split('\n'), l => l.Contains(" start job=poisson ", StringComparison.Ordinal));
        Assert.Contains($"ranks=2 ({family}", job.Stdout, StringComparison.Ordinal);
        var announcement = Assert.Single(job.Stderr.Split('\n'), l => l.Contains("semwes-entrypoint: started by the host's MPI launcher: rank 0 runs", StringComparison.Ordinal));
        Assert.DoesNotContain("semwes-entrypoint: starting:", job.Stderr, StringComparison.Ordinal);

        // Each rank in its own user namespace: shared memory through UCX needs the setting the entry point made.
        Assert.Contains("user namespace: UCX_POSIX_USE_PROC_LINK=n", announcement, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MpiFamily.OpenMpi, MpiFamily.MpichAbi, "this image carries MPICH: start it with the host's MPICH-ABI launcher (load MPICH or Intel MPI, then mpirun), or for Open MPI hosts build the image with jobscripts/build-image.sh --mpi openmpi")]
    [InlineData(MpiFamily.MpichAbi, MpiFamily.OpenMpi, "this image carries Open MPI: start it with the host's Open MPI mpirun (load Open MPI), or for MPICH-ABI hosts build the image with jobscripts/build-image.sh --mpi mpich")]
    public void AHostMpiThatIsNotTheImages_IsRefusedWithExit2AndOneLineSayingWhatToBuildOrLoad(MpiFamily host, MpiFamily image, string advice)
    {
        var (service, scratch) = ContainerRun.Folders(ImageUser.Root, "ch-mismatch");
        using var job = ContainerRun.Start(ImageUser.Root, images.Image(image), service, scratch, StartedOnceContainerTests.ShortJob, hostLauncher: host);

        Assert.Equal(2, job.WaitForExit(TimeSpan.FromSeconds(90)));
        var line = Assert.Single(job.Stderr.Split('\n'), l => l.StartsWith("convergence:", StringComparison.Ordinal));
        Assert.EndsWith(advice, line, StringComparison.Ordinal);
        Assert.DoesNotContain("apt-get", line, StringComparison.Ordinal);
        var result = ContainerRun.WaitForResult(service, job.Output);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.Equal("2", result["exit_code"]);
    }

    [Fact]
    public void AJobWhoseMpiInitFailsInEveryRank_StillEndsWithAFailedResult()
    {
        // The failure the entry point now prevents, forced back: UCX's /proc/PID/fd links across the ranks'
        // user namespaces (a setting the user made is kept). MPI_Init fails and hydra kills every copy.
        var (service, scratch) = ContainerRun.Folders(ImageUser.Root, "ch-initfail");
        using var job = ContainerRun.Start(ImageUser.Root, images.Image(MpiFamily.MpichAbi), service, scratch, StartedOnceContainerTests.ShortJob,
            hostLauncher: MpiFamily.MpichAbi, environment: new Dictionary<string, string?> { ["UCX_POSIX_USE_PROC_LINK"] = "y" });

        var code = job.WaitForExit(TimeSpan.FromSeconds(90));
        Assert.True(code != 0, job.Output);
        Assert.Contains("Shared memory error", job.Output, StringComparison.Ordinal);
        var result = ContainerRun.WaitForResult(service, job.Output);
        Assert.Equal("FAILED", result["outcome"]);
        Assert.False(string.IsNullOrWhiteSpace(result.GetValueOrDefault("message")), string.Join("\n", result));
        ContainerRun.AssertReadableByOthers(service);
    }
}
