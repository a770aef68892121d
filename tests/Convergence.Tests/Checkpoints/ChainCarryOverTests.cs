using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Checkpoints;

/// <summary>
/// A chained job's next link applies first what its previous link received while it ended (kept beside the
/// checkpoints), so a command sent during a link's final checkpoint is not lost.
/// </summary>
public sealed class ChainCarryOverTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public void TheNextLink_AppliesTheCarriedCommandFirst()
    {
        var service = Repo.NewTempFolder("chain-carry");
        using (var first = RunningProcess.Dotnet(PoissonJob.Dll, ["--single-process", "--service", service, "--n", "16", "--tolerance", "1e-30", "--checkpoint-every", "20", "--max-iterations", "45"]))
        {
            Assert.Equal(4, first.WaitForExit(Patience));
        }

        // What a continuing link writes when RELAXATION arrived during its final checkpoint.
        File.WriteAllText(Path.Combine(service, "checkpoints", "notifications-carried.txt"), "RELAXATION 1.5 #c1\n");
        using var next = RunningProcess.Dotnet(PoissonJob.Dll, ["--single-process", "--service", service, "--n", "16", "--tolerance", "1e-30", "--resume", "--chain-link", "2", "--chain-max", "3", "--max-iterations", "60"]);

        Assert.Equal(4, next.WaitForExit(Patience));
        Assert.Contains("chain: 1 command(s) carried over from the previous link, applied first", next.Stdout, StringComparison.Ordinal);
        Assert.Matches("command applied seq=1 id=c1 iteration=4[0-9] ", next.Stdout);
        Assert.Equal("1.5", Notify.ReadResult(service)["relaxation"]);
    }

    [Fact]
    public void AJobThatIsNotALaterLink_IgnoresACarriedFile()
    {
        var service = Repo.NewTempFolder("chain-carry-ignored");
        using (var first = RunningProcess.Dotnet(PoissonJob.Dll, ["--single-process", "--service", service, "--n", "16", "--tolerance", "1e-30", "--checkpoint-every", "20", "--max-iterations", "45"]))
        {
            Assert.Equal(4, first.WaitForExit(Patience));
        }

        File.WriteAllText(Path.Combine(service, "checkpoints", "notifications-carried.txt"), "ABORT #old\n");
        using var resumed = RunningProcess.Dotnet(PoissonJob.Dll, ["--single-process", "--service", service, "--n", "16", "--tolerance", "1e-30", "--resume", "--max-iterations", "60"]);

        Assert.Equal(4, resumed.WaitForExit(Patience));
        Assert.DoesNotContain("carried over", resumed.Stdout, StringComparison.Ordinal);
        Assert.Equal("ITERATION_LIMIT", Notify.ReadResult(service)["outcome"]);
    }
}
