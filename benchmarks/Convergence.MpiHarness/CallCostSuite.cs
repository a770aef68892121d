using System.Diagnostics;
using System.Globalization;
using System.Text;
using Convergence.Control;
using Convergence.Coordination;

namespace Convergence.MpiHarness;

/// <summary>
/// What one call of each building block costs on this machine, alone in a tight loop: the numbers that
/// explain the overhead table (a residual reduction of 1 double versus the sync header's few, the packet
/// broadcast, a file check, a clock read).
/// </summary>
/// <remarks>Collective: every rank makes the same calls; the slowest rank's time counts.</remarks>
internal sealed class CallCostSuite(ICoordinator world, HarnessOptions options)
{
    private static readonly string Marker = Path.Combine(Path.GetTempPath(), "convergence-harness", "abort.marker.never-created");

    public string Run()
    {
        var calls = options.Quick ? 200 : 20_000;
        var repeats = options.Quick ? 1 : 5;
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"Call costs: {calls} calls in a loop, median of {repeats} repeats, slowest rank");
        table.AppendLine("call                                          us/call");
        var values = new double[1024];
        var rows = new (string Label, Action Call)[]
        {
            ("allreduce 1 double (the residual)", () => world.AllreduceSum(1.0)),
            ("allreduce 1 double, direct library call", () => OverheadSuite.DirectAllreduceSum(1.0)),
            ("allreduce 2 doubles", () => world.AllreduceSum(values.AsSpan(0, 2))),
            ($"allreduce {ControlLoop.HeaderLength} doubles (the sync header)", () => world.AllreduceSum(values.AsSpan(0, ControlLoop.HeaderLength))),
            ("allreduce 32 doubles (largest on the stack)", () => world.AllreduceSum(values.AsSpan(0, 32))),
            ("allreduce 160 doubles (reused buffer)", () => world.AllreduceSum(values.AsSpan(0, 160))),
            ("allreduce 1024 doubles", () => world.AllreduceSum(values)),
            ($"bcast {CommandPacket.Size} B (the command packet)", () =>
            {
                var packet = default(CommandPacket);
                world.Broadcast(ref packet);
            }),
            ("File.Exists of a missing marker (per rank)", () => File.Exists(Marker)),
            ("Stopwatch.GetTimestamp (per rank)", () => Stopwatch.GetTimestamp()),
        };
        foreach (var (label, call) in rows)
        {
            var samples = new List<double>();
            for (var r = 0; r < repeats + 1; r++)
            {
                world.Barrier();
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < calls; i++)
                {
                    call();
                }

                var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                var slowest = world.AllreduceMax(seconds);
                if (r > 0)
                {
                    // The first round warms up (JIT, MPI's first-use set-up) and is not counted.
                    samples.Add(slowest / calls * 1e6);
                }
            }

            table.AppendLine(CultureInfo.InvariantCulture, $"{label,-45} {Statistics.Median(samples),8:F3}");
        }

        return table.ToString();
    }
}
