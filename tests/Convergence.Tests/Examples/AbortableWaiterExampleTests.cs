using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Examples;

/// <summary>The abortable waiter as the service runs it: a real process, messages appended by another process.</summary>
[Collection(MpiCollection.Name)]
public sealed class AbortableWaiterExampleTests : SteerableExampleContract
{
    public AbortableWaiterExampleTests()
        : base("waiter-example")
    {
    }

    protected override string Dll => Repo.Output("examples/AbortableWaiter", "AbortableWaiter");

    protected override string[] SmallRun => ["--steps", "3", "--step-ms", "50"];

    /// <summary>600 steps of 50 ms: 30 s unless steered.</summary>
    protected override string[] LongRun => ["--steps", "600", "--step-ms", "50"];

    protected override (string[] Arguments, string Error) BadOption =>
        (["--steps", "x"], "option --steps: 'x' is not a whole number from 1 to");

    [Fact]
    public void Result_CountsTheStepsWaited()
    {
        using var job = Start(SmallRun);

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(Service);
        Assert.Equal("3", result["total_iterations"]);
        Assert.Equal("3", result["steps_waited"]);
        Assert.Equal("0", result["steps_left"]);
        Assert.Equal("abortable waiter", result["job"]);
    }

    [Fact]
    public void Extend_HasAControlOnThePage_AddsSteps_AndABadExtendIsRejected()
    {
        using var job = StartListening(["--steps", "100", "--step-ms", "20"]);
        Assert.Contains("data-message=\"EXTEND\"", File.ReadAllText(Path.Combine(Service, "status.html")), StringComparison.Ordinal);
        Notify.Append(Notifications, "EXTEND 7 #more");
        Notify.Append(Notifications, "EXTEND -3");

        Assert.Equal(0, job.WaitForExit(Timeout));
        var result = Notify.ReadResult(Service);
        Assert.Equal("CONVERGED", result["outcome"]);
        Assert.Equal("107", result["steps_waited"]);
        Assert.Contains("command applied seq=1 id=more", job.Stdout, StringComparison.Ordinal);
        Assert.Contains("EXTEND: '-3' is not a whole number of steps", job.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Abort_EndsTheWaitEarly()
    {
        using var job = StartListening(LongRun);
        Notify.Append(Notifications, "ABORT");

        Assert.Equal(3, job.WaitForExit(Timeout));
        Assert.True(int.Parse(Notify.ReadResult(Service)["steps_left"], System.Globalization.CultureInfo.InvariantCulture) > 0, job.Output);
    }
}
