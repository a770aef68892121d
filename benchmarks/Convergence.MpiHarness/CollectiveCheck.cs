using System.Globalization;
using Convergence.Coordination;

namespace Convergence.MpiHarness;

/// <summary>
/// Before anything is timed: every coordinator call gives the right answer under the MPI in use, at
/// lengths from 1 to far beyond any fixed buffer (the binding must have no cap), so a table is never
/// measured on a binding that computes wrong.
/// </summary>
/// <remarks>Collective. Throws <see cref="InvalidOperationException"/> on the first wrong value.</remarks>
internal static class CollectiveCheck
{
    public static string Run(ICoordinator world)
    {
        var p = world.Size;
        var r = world.Rank;
        Expect(world.AllreduceSum(r + 1.0), p * (p + 1) / 2.0, "AllreduceSum(double)");
        Expect(world.AllreduceMax(r), p - 1, "AllreduceMax(double)");
        foreach (var length in new[] { 1, 6, 65, 10 * p + 1, 100_000 })
        {
            var values = new double[length];
            for (var i = 0; i < length; i++)
            {
                values[i] = (r + 1) * (i + 1.0);
            }

            world.AllreduceSum(values);
            for (var i = 0; i < length; i++)
            {
                Expect(values[i], (i + 1.0) * p * (p + 1) / 2.0, $"AllreduceSum({length} doubles)[{i}]");
            }
        }

        foreach (var length in new[] { 1, 3, 1000 })
        {
            var send = Enumerable.Range(0, length).Select(i => (r * 1000.0) + i).ToArray();
            var receive = r == 0 ? new double[p * length] : [];
            world.Gather(send, receive);
            for (var k = 0; r == 0 && k < receive.Length; k++)
            {
                Expect(receive[k], ((k / length) * 1000.0) + (k % length), $"Gather({length})[{k}]");
            }
        }

        var bytes = new byte[CommandPacket.Size];
        if (r == 0)
        {
            bytes.AsSpan().Fill(0x5a);
        }

        world.Broadcast(bytes);
        Expect(bytes.Count(b => b == 0x5a), CommandPacket.Size, "Broadcast(bytes)");

        // A ring without wrap-around: the ends have no neighbour on one side (MPI_PROC_NULL, whose value
        // differs between the families), and their receive buffer must stay untouched there.
        if (world is IPointToPoint neighbours)
        {
            var up = r + 1 < p ? r + 1 : -1;
            var down = r > 0 ? r - 1 : -1;
            double[] send = [r, r, r];
            double[] receive = [-7, -7, -7];
            neighbours.SendReceive(send, up, receive, down, 9);
            Expect(receive[2], down < 0 ? -7 : down, "SendReceive");
        }

        world.Barrier();
        return string.Create(CultureInfo.InvariantCulture,
            $"collectives checked on {p} ranks: allreduce sum/max, in-place sums of 1 to 100000 doubles, gather, broadcast, send-receive with no neighbour at the ends");
    }

    private static void Expect(double actual, double expected, string what)
    {
        if (actual != expected)
        {
            throw new InvalidOperationException($"collective check failed: {what} = {actual}, expected {expected}");
        }
    }
}
