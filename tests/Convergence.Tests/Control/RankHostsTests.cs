using System.Text.Json;
using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Mpi;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>Each rank's host in its log line, the nodes on the page, in status.json and in rank 0's log.</summary>
[Collection(MpiCollection.Name)]
public sealed class RankHostsTests
{
    private static readonly string Poisson = Repo.Output("examples/Poisson", "Poisson");

    [Fact]
    public void OneProcess_KnowsItsHost_AndNamesItsNode()
    {
        var hosts = RankHosts.Gather(new SingleProcessCoordinator());

        Assert.Equal(Environment.MachineName, hosts.Own);
        Assert.Equal([Environment.MachineName], hosts.Hosts);
        Assert.Equal($"nodes: 1 ({Environment.MachineName}: ranks 0)", hosts.Describe());
    }

    [Theory]
    [InlineData(MpiFamily.MpichAbi, 3, "0-2")]
    [InlineData(MpiFamily.OpenMpi, 4, "0-3")]
    public void EveryRanksHost_IsInItsSignalLine_AndOnThePage(MpiFamily mpi, int ranks, string range)
    {
        var service = Repo.NewTempFolder("hosts");
        using var job = RunningProcess.MpiRun(mpi, ranks, Poisson, ["--service", service, "--n", "16", "--method", "jacobi", "--tolerance", "1e-2"]);

        Assert.Equal(0, job.WaitForExit(TimeSpan.FromSeconds(120)));
        var host = Environment.MachineName;
        for (var rank = 0; rank < ranks; rank++)
        {
            Assert.Matches($@"signals: \S+ on rank {rank} pid \d+ host {host}", job.Stdout);
        }

        Assert.Contains($"nodes: 1 ({host}: ranks {range})", job.Stdout, StringComparison.Ordinal);
        using var status = JsonDocument.Parse(File.ReadAllText(Path.Combine(service, "status.json")));
        var node = Assert.Single(status.RootElement.GetProperty("nodes").EnumerateArray());
        Assert.Equal(host, node.GetProperty("host").GetString());
        Assert.Equal(range, node.GetProperty("ranks").GetString());
        Assert.Contains($"on 1 node: <span id=\"nodes\">{host} ({range})</span>", File.ReadAllText(Path.Combine(service, "status.html")), StringComparison.Ordinal);
    }
}
