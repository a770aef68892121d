using System.Globalization;
using System.Text;
using Convergence.Coordination;

namespace Convergence.Hosting;

/// <summary>
/// Which host each rank runs on: gathered once at start (one small gather), so rank 0 can name the nodes on
/// the page and in the log, and the host of a failing rank in the result.
/// </summary>
/// <remarks>
/// A host name travels as up to 60 UTF-8 bytes packed six to a double (whole numbers below 2^48, exact in a
/// double), after its length: a constant amount per rank, and only rank 0's table grows with the rank count.
/// </remarks>
internal sealed class RankHosts
{
    private const int BytesPerSlot = 6;
    private const int MaxBytes = 60;
    private const int Slots = 1 + (MaxBytes / BytesPerSlot);

    private readonly string[] _hosts;

    private RankHosts(string own, string[] hosts)
    {
        Own = own;
        _hosts = hosts;
    }

    /// <summary>This process's host name.</summary>
    public string Own { get; }

    /// <summary>Rank 0: every rank's host, by rank; elsewhere empty.</summary>
    public IReadOnlyList<string> Hosts => _hosts;

    /// <summary>This machine's host name, as the log shows it.</summary>
    public static string ThisHost
    {
        get
        {
            try
            {
                return Environment.MachineName;
            }
            catch (InvalidOperationException)
            {
                return "?";
            }
        }
    }

    /// <summary>Collective: every rank sends its host name; rank 0 gets them all.</summary>
    public static RankHosts Gather(ICoordinator coordinator)
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        var own = ThisHost;
        Span<double> mine = stackalloc double[Slots];
        Encode(own, mine);
        var isRoot = coordinator.Rank == 0;
        var table = isRoot ? new double[coordinator.Size * Slots] : [];
        coordinator.Gather(mine, table);
        var hosts = new string[isRoot ? coordinator.Size : 0];
        for (var r = 0; r < hosts.Length; r++)
        {
            hosts[r] = Decode(table.AsSpan(r * Slots, Slots));
        }

        return new RankHosts(own, hosts);
    }

    /// <summary>Rank 0: the host of <paramref name="rank"/>, or null when unknown.</summary>
    public string? HostOf(int rank) => rank >= 0 && rank < _hosts.Length ? _hosts[rank] : null;

    /// <summary>Rank 0: each host with its ranks, in order of first rank, e.g. <c>node1: 0-1</c>, <c>node2: 2-3</c>.</summary>
    public IReadOnlyList<(string Host, string Ranks)> Nodes()
    {
        var order = new List<string>();
        var ranks = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var r = 0; r < _hosts.Length; r++)
        {
            if (!ranks.TryGetValue(_hosts[r], out var list))
            {
                ranks[_hosts[r]] = list = [];
                order.Add(_hosts[r]);
            }

            list.Add(r);
        }

        return order.Select(h => (h, Ranges(ranks[h]))).ToList();
    }

    /// <summary>Rank 0: the log line naming the nodes.</summary>
    public string Describe()
    {
        var nodes = Nodes();
        return string.Create(CultureInfo.InvariantCulture, $"nodes: {nodes.Count} ({string.Join("; ", nodes.Select(n => $"{n.Host}: ranks {n.Ranks}"))})");
    }

    private static string Ranges(List<int> ranks)
    {
        var parts = new List<string>();
        for (var i = 0; i < ranks.Count;)
        {
            var j = i;
            while (j + 1 < ranks.Count && ranks[j + 1] == ranks[j] + 1)
            {
                j++;
            }

            parts.Add(i == j
                ? ranks[i].ToString(CultureInfo.InvariantCulture)
                : string.Create(CultureInfo.InvariantCulture, $"{ranks[i]}-{ranks[j]}"));
            i = j + 1;
        }

        return string.Join(",", parts);
    }

    private static void Encode(string host, Span<double> slots)
    {
        var bytes = Encoding.UTF8.GetBytes(host);
        var length = Math.Min(bytes.Length, MaxBytes);
        slots.Clear();
        slots[0] = length;
        for (var i = 0; i < length; i++)
        {
            var slot = 1 + (i / BytesPerSlot);
            slots[slot] += bytes[i] * Math.Pow(256, i % BytesPerSlot);
        }
    }

    private static string Decode(ReadOnlySpan<double> slots)
    {
        var length = (int)slots[0];
        if (length is < 0 or > MaxBytes)
        {
            return "?";
        }

        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            var value = (long)slots[1 + (i / BytesPerSlot)];
            bytes[i] = (byte)((value >> (8 * (i % BytesPerSlot))) & 0xFF);
        }

        return Encoding.UTF8.GetString(bytes);
    }
}
