using AngleSharp.Html.Parser;
using Convergence.Commands;
using Convergence.Coordination;
using Convergence.Status;
using Convergence.Testing;
using Convergence.Tests.Status;

namespace Convergence.Tests.Commands;

/// <summary>
/// A custom command's declared argument (number, whole number, choice): the declaration, rank 0's check with its
/// one-line reasons, the parsed value handed on in <see cref="ControlCommand.Value"/>, and the page's form.
/// </summary>
public sealed class TypedCommandArgumentTests
{
    private static readonly CustomCommand Relaxation = new("RELAXATION", "SOR factor", CommandArgument.Number(0, 2, excludeMinimum: true, excludeMaximum: true));
    private static readonly CustomCommand Weight = new("WEIGHT", "Jacobi weight", CommandArgument.Number(0, 1, excludeMinimum: true));
    private static readonly CustomCommand Levels = new("LEVELS", "multigrid levels", CommandArgument.WholeNumber(1, 10));
    private static readonly CustomCommand Smoother = new("SMOOTHER", "the smoother", CommandArgument.Choice("jacobi", "gauss-seidel", "SOR"));
    private static readonly CustomCommand Free = new("SET", "SET <name> <value>", "free-form", a => a.Contains(' ', StringComparison.Ordinal) ? null : "needs a name and a value");

    private readonly CommandParser _parser = new([Relaxation, Weight, Levels, Smoother, Free]);

    [Theory]
    [InlineData("RELAXATION 1.3", 1.3)]
    [InlineData("relaxation 1e-3", 1e-3)]
    [InlineData("RELAXATION 1.999999", 1.999999)]
    [InlineData("WEIGHT 1", 1.0)]
    [InlineData("WEIGHT 0.25 #w", 0.25)]
    [InlineData("LEVELS 1", 1.0)]
    [InlineData("LEVELS 10", 10.0)]
    public void AValueInRange_IsAcceptedWithTheParsedValue(string line, double expected)
    {
        var result = _parser.Parse(line);

        Assert.Null(result.Rejection);
        Assert.Equal(CommandKind.Custom, result.Command!.Kind);
        Assert.Equal(expected, result.Command.Value);
    }

    [Theory]
    [InlineData("RELAXATION 2.5", "RELAXATION: 2.5 is out of range (0, 2)")]
    [InlineData("RELAXATION 2", "RELAXATION: 2 is out of range (0, 2)")]
    [InlineData("RELAXATION 0", "RELAXATION: 0 is out of range (0, 2)")]
    [InlineData("RELAXATION -1e-300", "RELAXATION: -1e-300 is out of range (0, 2)")]
    [InlineData("WEIGHT 0", "WEIGHT: 0 is out of range (0, 1]")]
    [InlineData("WEIGHT 1.0000001", "WEIGHT: 1.0000001 is out of range (0, 1]")]
    [InlineData("LEVELS 0", "LEVELS: 0 is out of range [1, 10]")]
    [InlineData("LEVELS 11", "LEVELS: 11 is out of range [1, 10]")]
    [InlineData("LEVELS -1", "LEVELS: -1 is out of range [1, 10]")]
    public void AValueOutOfRange_IsRejectedAtEachBoundWithTheRange(string line, string reason) =>
        Assert.Equal(reason, _parser.Parse(line).Rejection);

    [Theory]
    [InlineData("RELAXATION abc", "RELAXATION: 'abc' is not a number; expected a number in (0, 2)")]
    [InlineData("RELAXATION 1,5", "RELAXATION: '1,5' is not a number; expected a number in (0, 2)")]
    [InlineData("RELAXATION 1.3 extra", "RELAXATION: '1.3 extra' is not a number; expected a number in (0, 2)")]
    [InlineData("RELAXATION Infinity", "RELAXATION: 'Infinity' is not a finite number; expected a number in (0, 2)")]
    [InlineData("RELAXATION 1e400", "RELAXATION: '1e400' is not a finite number; expected a number in (0, 2)")]
    [InlineData("RELAXATION", "RELAXATION: expected a number in (0, 2), got nothing")]
    [InlineData("LEVELS 2.5", "LEVELS: 2.5 is not a whole number; expected a whole number in [1, 10]")]
    [InlineData("LEVELS 3.0", "LEVELS: 3.0 is not a whole number; expected a whole number in [1, 10]")]
    [InlineData("LEVELS three", "LEVELS: 'three' is not a number; expected a whole number in [1, 10]")]
    [InlineData("SMOOTHER ilu", "SMOOTHER: 'ilu' is not one of jacobi, gauss-seidel, SOR")]
    [InlineData("SMOOTHER jacobi sor", "SMOOTHER: 'jacobi sor' is not one of jacobi, gauss-seidel, SOR")]
    public void TextOfTheWrongKind_IsRejectedWithWhatWasExpected(string line, string reason) =>
        Assert.Equal(reason, _parser.Parse(line).Rejection);

    [Fact]
    public void AWholeNumber_IsHandedOnAsItsValue()
    {
        var command = _parser.Parse("LEVELS 7 #l").Command!;

        Assert.Equal(7L, command.WholeNumber);
        Assert.Equal("7", command.Arguments);
        Assert.Equal("l", command.ClientId);
    }

    [Theory]
    [InlineData("SMOOTHER jacobi", "jacobi", 0)]
    [InlineData("smoother GAUSS-SEIDEL", "gauss-seidel", 1)]
    [InlineData("SMOOTHER sor", "SOR", 2)]
    public void AChoice_IsMatchedIgnoringCaseAndHandedOnAsDeclared(string line, string word, int index)
    {
        var command = _parser.Parse(line).Command!;

        Assert.Equal(word, command.Arguments);
        Assert.Equal(index, command.Value);
        Assert.Equal($"SMOOTHER {word}", command.ToString());
    }

    [Fact]
    public void TheParsedValue_SurvivesTheTripToTheOtherRanks()
    {
        var sent = _parser.Parse("RELAXATION 1.25 #r1").Command!;

        var received = CommandPacket.From(sent, 3).ToCommand();

        Assert.Equal(sent, received);
        Assert.Equal(1.25, received.Value);
    }

    [Fact]
    public void AFreeFormCommand_WorksAsBefore()
    {
        Assert.Equal("SET: needs a name and a value (usage: SET <name> <value>)", _parser.Parse("SET omega").Rejection);
        var command = _parser.Parse("SET omega 1.3").Command!;
        Assert.Equal("omega 1.3", command.Arguments);
        Assert.Equal(0, command.Value);
        Assert.Null(Free.Argument);
    }

    [Fact]
    public void AValidatorBesideADeclaredRange_RunsOnTheAcceptedText()
    {
        var even = new CustomCommand("BLOCKS", "blocks per rank", CommandArgument.WholeNumber(1, 64)) { Validate = a => a.EndsWith('1') ? "no odd counts ending in 1" : null };
        var parser = new CommandParser([even]);

        Assert.Equal("BLOCKS: 65 is out of range [1, 64]", parser.Parse("BLOCKS 65").Rejection);
        Assert.StartsWith("BLOCKS: no odd counts ending in 1 (usage: BLOCKS <a whole number in [1, 64]>)", parser.Parse("BLOCKS 21").Rejection, StringComparison.Ordinal);
        Assert.Equal(8, parser.Parse("BLOCKS 8").Command!.Value);
    }

    [Fact]
    public void TheUsageText_IsMadeFromTheDeclaration()
    {
        Assert.Equal("RELAXATION <a number in (0, 2)>", Relaxation.Usage);
        Assert.Equal("WEIGHT <a number in (0, 1]>", Weight.Usage);
        Assert.Equal("LEVELS <a whole number in [1, 10]>", Levels.Usage);
        Assert.Equal("SMOOTHER jacobi|gauss-seidel|SOR", Smoother.Usage);
        Assert.Equal("SHIFT <a number in (-∞, 5]>", new CustomCommand("SHIFT", "d", CommandArgument.Number(maximum: 5)).Usage);
        Assert.Equal("SCALE <a number>", new CustomCommand("SCALE", "d", CommandArgument.Number()).Usage);
        Assert.Equal("COUNT <a whole number in [0, ∞)>", new CustomCommand("COUNT", "d", CommandArgument.WholeNumber(minimum: 0)).Usage);
    }

    [Fact]
    public void AnUnboundedNumber_TakesAnyFiniteNumber()
    {
        var parser = new CommandParser([new CustomCommand("SCALE", "d", CommandArgument.Number())]);

        Assert.Equal(-1e300, parser.Parse("SCALE -1e300").Command!.Value);
        Assert.Equal("SCALE: 'NaN' is not a finite number; expected a number", parser.Parse("SCALE NaN").Rejection);
    }

    [Fact]
    public void ADeclarationThatHoldsNothing_IsRefusedWhereItIsMade()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CommandArgument.Number(2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CommandArgument.Number(1, 1, excludeMaximum: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => CommandArgument.Number(double.NaN, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CommandArgument.Number(0, double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => CommandArgument.WholeNumber(5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => CommandArgument.WholeNumber(0, long.MaxValue));
        Assert.Throws<ArgumentException>(() => CommandArgument.Choice());
        Assert.Throws<ArgumentException>(() => CommandArgument.Choice("a", "A"));
        Assert.Throws<ArgumentException>(() => CommandArgument.Choice("two words"));
        Assert.Throws<ArgumentException>(() => CommandArgument.Choice("#id"));
        Assert.Equal(1.0, CommandArgument.Number(1, 1).Minimum);
    }

    [Fact]
    public void TheTestKit_ParsesATypedCommandAsTheJobDoes()
    {
        Assert.Equal(1.5, TestCommands.Parse("RELAXATION 1.5", [Relaxation]).Value);
        var refused = Assert.Throws<ArgumentException>(() => TestCommands.Parse("RELAXATION 2.5", [Relaxation]));
        Assert.Contains("RELAXATION: 2.5 is out of range (0, 2)", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePageForm_OffersANumberFieldWithTheBoundsOrAList()
    {
        var snapshot = SampleSnapshots.Running() with { CustomCommands = [Relaxation, Weight, Levels, Smoother, Free] };
        var doc = new HtmlParser().ParseDocument(StatusPage.Render(snapshot));

        var relaxation = doc.QuerySelector("form[data-message='RELAXATION']")!;
        Assert.Equal("number", relaxation.GetAttribute("data-kind"));
        Assert.Equal("a number in (0, 2)", relaxation.GetAttribute("data-expected"));
        var field = relaxation.QuerySelector("input")!;
        Assert.Equal(("number", "0", "2", "any"), (field.GetAttribute("type"), field.GetAttribute("min"), field.GetAttribute("max"), field.GetAttribute("step")));
        Assert.True(field.HasAttribute("data-exclude-min"));
        Assert.True(field.HasAttribute("data-exclude-max"));

        var weight = doc.QuerySelector("form[data-message='WEIGHT'] input")!;
        Assert.True(weight.HasAttribute("data-exclude-min"));
        Assert.False(weight.HasAttribute("data-exclude-max"));

        var levels = doc.QuerySelector("form[data-message='LEVELS']")!;
        Assert.Equal("whole-number", levels.GetAttribute("data-kind"));
        Assert.Equal(("1", "10", "1"), (levels.QuerySelector("input")!.GetAttribute("min"), levels.QuerySelector("input")!.GetAttribute("max"), levels.QuerySelector("input")!.GetAttribute("step")));

        var smoother = doc.QuerySelector("form[data-message='SMOOTHER']")!;
        Assert.Equal("choice", smoother.GetAttribute("data-kind"));
        Assert.Null(smoother.QuerySelector("input"));
        Assert.Equal(["jacobi", "gauss-seidel", "SOR"], smoother.QuerySelectorAll("select option").Select(o => o.GetAttribute("value")));
        Assert.Equal("Usage: SMOOTHER jacobi|gauss-seidel|SOR — the smoother", smoother.QuerySelector(".usage")!.TextContent);

        var free = doc.QuerySelector("form[data-message='SET']")!;
        Assert.Equal("custom", free.GetAttribute("data-kind"));
        Assert.Null(free.QuerySelector("input")!.GetAttribute("type"));
    }
}
