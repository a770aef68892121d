using Convergence.Output;
using Convergence.Solver;

namespace Convergence.Tests.Control;

public sealed class ResultFileTests
{
    [Fact]
    public void Result_StartsWithOutcome_AndParsesBack()
    {
        var result = new RunResult(RunOutcome.Converged, 12, 30, 9.5e-7, 1e-6, TimeSpan.FromSeconds(2.5), 1, "done\nreally");
        var text = ResultFile.FormatResult("job", 2, result, [("solution", "/scratch/u.pvti")]);

        Assert.StartsWith("outcome=CONVERGED\n", text, StringComparison.Ordinal);
        var fields = ResultFile.Parse(text);
        Assert.Equal("12", fields["iteration"]);
        Assert.Equal("30", fields["total_iterations"]);
        Assert.Equal(9.5e-7, double.Parse(fields["residual"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("done really", fields["message"]);
        Assert.Equal("/scratch/u.pvti", fields["solution"]);
        Assert.Equal("0", fields["exit_code"]);
    }

    [Fact]
    public void Placeholder_IsUnset() =>
        Assert.Equal("UNSET", ResultFile.Parse(ResultFile.FormatPlaceholder("j", 2))["outcome"]);
}
