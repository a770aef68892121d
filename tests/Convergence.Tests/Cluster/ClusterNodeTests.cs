namespace Convergence.Tests.Cluster;

/// <summary>What makes the namespace cluster's nodes nodes: their own hostname, network, /scratch and /dev/shm.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterNodeTests
{
    [Fact]
    public void EachNode_HasItsOwnHostnameScratchAndShm_AndARouteOnlyToThePrivateSubnet()
    {
        Assert.Equal(LocalCluster.First, LocalCluster.Run(LocalCluster.First, "hostname").Trim());
        Assert.Equal(LocalCluster.Second, LocalCluster.Run(LocalCluster.Second, "hostname").Trim());

        var marker = $"cluster-node-test-{Guid.NewGuid():N}";
        foreach (var folder in new[] { "/scratch", "/dev/shm" })
        {
            LocalCluster.Run(LocalCluster.First, "touch", $"{folder}/{marker}");
            try
            {
                // The same path on the other node and on the host is another file system.
                Assert.Equal("absent", LocalCluster.Run(LocalCluster.Second, "/bin/sh", "-c", "test -e \"$1\" && echo present || echo absent", "sh", $"{folder}/{marker}").Trim());
                Assert.False(File.Exists($"{folder}/{marker}"), $"{folder}/{marker} is visible on the host");
            }
            finally
            {
                LocalCluster.Run(LocalCluster.First, "rm", "-f", $"{folder}/{marker}");
            }
        }

        Assert.Equal("10.77.0.0/24 dev cvg0 proto kernel scope link src 10.77.0.2", LocalCluster.Run(LocalCluster.Second, "ip", "-4", "route").Trim());
        Assert.Contains("10.77.0.1 node1", LocalCluster.Run(LocalCluster.Second, "cat", "/etc/hosts"), StringComparison.Ordinal);
    }
}
