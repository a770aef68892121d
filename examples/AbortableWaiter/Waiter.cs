using System.Globalization;
using Convergence.Commands;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Examples.AbortableWaiter;

/// <summary>
/// Waits <c>--steps</c> steps of <c>--step-ms</c> each. Its "residual" is the number of steps left, so the
/// status page shows the countdown and the job converges when it reaches 0 (tolerance 0.5).
/// <c>EXTEND n</c> adds n steps; <c>CHANGE_TOLERANCE 5</c> would end it once fewer than 5 steps remain.
/// </summary>
public sealed class Waiter : IIterativeSolver
{
    /// <summary>The waiter's options, in the framework's option table.</summary>
    public static readonly OptionTable<WaiterOptions> Table = new("Waiter options")
    {
        { "--steps", null, "N", "steps to wait (default 20)", (o, v) => o with { Steps = OptionValue.Int(v, 1, int.MaxValue) } },
        { "--step-ms", null, "MS", "length of one step in milliseconds (default 1000)", (o, v) => o with { StepMilliseconds = OptionValue.Double(v, 0, 3_600_000) } },
    };

    private static readonly CustomCommand Extend = new(
        "EXTEND",
        "EXTEND <steps>",
        "Wait this many steps longer",
        arguments => int.TryParse(arguments, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 1_000_000
            ? null
            : $"'{arguments}' is not a whole number of steps from 1 to 1000000");

    private readonly int _steps;
    private readonly TimeSpan _step;
    private long _remaining;
    private long _waited;

    private Waiter(int steps, TimeSpan step)
    {
        _steps = steps;
        _step = step;
    }

    /// <inheritdoc />
    public string Name => "waiter";

    /// <summary>The residual is a count, not a norm: the steps left, as they are.</summary>
    public ResidualNorm Norm => ResidualNorm.Sum;

    /// <inheritdoc />
    public IReadOnlyList<CustomCommand> Commands => [Extend];

    /// <summary>Builds the waiter from its parsed options.</summary>
    public static Waiter Create(WaiterOptions options) =>
        new(options.Steps, TimeSpan.FromMilliseconds(options.StepMilliseconds));

    /// <inheritdoc />
    public void Initialize(SolverContext context) => _remaining = _steps;

    /// <inheritdoc />
    public double Iterate()
    {
        // The "work" of a step. A real job computes here; the framework checks for commands between steps.
        Thread.Sleep(_step);
        _waited++;
        _remaining = Math.Max(0, _remaining - 1);
        return _remaining;
    }

    /// <summary>What the waiter adds to <c>result.txt</c>: the steps waited and the steps left.</summary>
    public IEnumerable<(string Key, string Value)> ResultFields =>
    [
        ("steps_waited", _waited.ToString(CultureInfo.InvariantCulture)),
        ("steps_left", _remaining.ToString(CultureInfo.InvariantCulture)),
    ];

    /// <inheritdoc />
    public void ApplyCommand(ControlCommand command) =>
        _remaining += int.Parse(command.Arguments, CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Finish(RunResult result)
    {
        // Nothing to save: the framework writes result.txt. A real job would write its output here.
    }
}
