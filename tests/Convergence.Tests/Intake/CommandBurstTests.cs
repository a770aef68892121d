using System.Globalization;
using System.Text.RegularExpressions;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Hosting;
using Convergence.Options;
using Convergence.Output;
using Convergence.Solver;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Intake;

/// <summary>
/// A whole job in this process (single-process coordinator) with a second process sending a burst of
/// commands: every command is applied, one per sync boundary, in arrival order.
/// </summary>
public sealed partial class CommandBurstTests : IDisposable
{
    private readonly string _folder = Repo.NewTempFolder("burst");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void BurstOfTenCommandsBecomesTenAppliedCommandsInArrivalOrder()
    {
        var solver = new RelaxationSolver();
        using var output = new StringWriter();
        using var log = new JobLog(writer: TextWriter.Synchronized(output));
        var options = new RunOptions
        {
            ServiceDirectory = _folder,
            PollInterval = TimeSpan.FromMilliseconds(5),
            UseChangeNotifications = false,
            Sync = SyncPolicy.Every(50),
            MaxIterations = 2_000_000_000,
        };
        var runner = new JobRunner(new SingleProcessCoordinator(), options, solver, log);
        RunResult? result = null;
        Exception? failure = null;
        var run = new Thread(() =>
        {
            try
            {
                result = runner.Run();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        run.IsBackground = true;
        run.Start();

        // The watcher exists once the solver is initialised; from then on the file's content is new.
        Assert.True(solver.Initialized.Wait(TimeSpan.FromSeconds(20)), "the job did not start");
        var values = Enumerable.Range(1, 10).Select(i => (1 + (i / 100.0)).ToString("0.00", CultureInfo.InvariantCulture)).ToList();
        var burst = values.Select((v, i) => $"SET relaxation {v} #c{i + 1}")
            .Append("SET relaxation 7 #bad")
            .Append("set RELAXATION 1.5")
            .Append("STOP #end");
        Notify.Append(options.NotificationsFile, string.Join('\n', burst));

        Assert.True(run.Join(TimeSpan.FromSeconds(30)), "the job did not stop");
        log.Flush();
        var text = output.ToString();

        Assert.Null(failure);
        Assert.Equal(RunOutcome.Stopped, result!.Outcome);
        Assert.Equal(values, solver.Applied.Take(10));
        Assert.Equal(11, solver.Applied.Count);

        var applied = AppliedLine().Matches(text).Select(m => (Id: m.Groups["id"].Value, Iteration: long.Parse(m.Groups["it"].Value, CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"c{i}").Append("-").Append("end"), applied.Select(a => a.Id));
        for (var i = 1; i < applied.Count; i++)
        {
            Assert.True(applied[i].Iteration > applied[i - 1].Iteration, $"applied at the same or an earlier iteration:\n{text}");
        }

        Assert.Single(RejectedLine().Matches(text));
        Assert.Contains("command rejected seq=11 id=bad reason=\"SET: relaxation must be a number between 0 and 2", text, StringComparison.Ordinal);
        Assert.Equal(12, ReceivedLine().Count(text));
    }

    [GeneratedRegex(@"command applied seq=\d+ id=(?<id>\S+) iteration=(?<it>\d+) total=\d+ text=")]
    private static partial Regex AppliedLine();

    [GeneratedRegex(@"command rejected seq=\d+ id=\S+ reason=")]
    private static partial Regex RejectedLine();

    [GeneratedRegex(@"command received seq=\d+ id=\S+ text=")]
    private static partial Regex ReceivedLine();

    /// <summary>A solver that never converges and takes a custom command; records what it applied.</summary>
    private sealed class RelaxationSolver : IIterativeSolver
    {
        public ManualResetEventSlim Initialized { get; } = new();

        public List<string> Applied { get; } = [];

        public string Name => "relaxation-fake";

        public IReadOnlyList<CustomCommand> Commands { get; } =
        [
            new("SET", "SET relaxation <0..2>", "set the relaxation factor", Validate),
        ];

        public void Initialize(SolverContext context) => Initialized.Set();

        public double Iterate()
        {
            Thread.SpinWait(20);
            return 1.0;
        }

        public void Finish(RunResult result)
        {
        }

        public void ApplyCommand(ControlCommand command) =>
            Applied.Add(command.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

        private static string? Validate(string arguments)
        {
            var parts = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || !parts[0].Equals("relaxation", StringComparison.OrdinalIgnoreCase))
            {
                return "expected 'relaxation <value>'";
            }

            return double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 && value < 2
                ? null
                : "relaxation must be a number between 0 and 2";
        }
    }
}
