using Convergence.Options;

namespace Convergence.Tests.Control;

public sealed class OptionTableTests
{
    private static readonly OptionTable<Sample> Table = new("Sample options")
    {
        { "--n", "SAMPLE_N", "N", "grid points per side", (o, v) => o with { N = OptionValue.Int(v, 3, 1000) } },
        { "--method", null, "M", "sor | jacobi", (o, v) => o with { Method = OptionValue.OneOf(v, "sor", "jacobi") } },
        { "--verbose", null, null, "say more", (o, v) => o with { Verbose = OptionValue.Switch(v) } },
    };

    [Fact]
    public void CommandLine_WinsOverEnvironment_WhichWinsOverTheRecordsDefaults()
    {
        var env = new Dictionary<string, string> { ["SAMPLE_N"] = "50" };

        Assert.Equal(50, Table.ParseAll([], new Sample(), env.GetValueOrDefault).N);
        Assert.Equal(70, Table.ParseAll(["--n=70"], new Sample(), env.GetValueOrDefault).N);
        Assert.Equal(10, Table.ParseAll([], new Sample(), _ => null).N);
    }

    [Fact]
    public void FlagsTakeNoValue_AndOneOfReturnsTheAllowedSpelling()
    {
        var o = Table.ParseAll(["--verbose", "--method", "JACOBI"], new Sample(), _ => null);

        Assert.True(o.Verbose);
        Assert.Equal("jacobi", o.Method);
        Assert.False(Table.ParseAll(["--verbose=off"], new Sample(), _ => null).Verbose);
    }

    [Theory]
    [InlineData(new[] { "--n", "x" }, "option --n: 'x' is not a whole number from 3 to 1000")]
    [InlineData(new[] { "--n", "2" }, "option --n: '2' is not a whole number from 3 to 1000")]
    [InlineData(new[] { "--method", "cg" }, "option --method: 'cg' is not one of sor, jacobi")]
    [InlineData(new[] { "--n" }, "option --n needs a value (N): grid points per side")]
    [InlineData(new[] { "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "--methd", "sor" }, "unknown option '--methd' (did you mean --method?)")]
    [InlineData(new[] { "--verbsoe" }, "unknown option '--verbsoe' (did you mean --verbose?)")]
    [InlineData(new[] { "--nn", "5" }, "unknown option '--nn' (did you mean --n?)")]
    [InlineData(new[] { "stray" }, "unexpected argument 'stray'")]
    public void BadArguments_GiveTheFrameworksOneLineErrors(string[] args, string message)
    {
        var ex = Assert.Throws<OptionsException>(() => Table.ParseAll(args, new Sample(), _ => null));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void ABadEnvironmentValue_NamesTheVariable()
    {
        var ex = Assert.Throws<OptionsException>(() => Table.ParseAll([], new Sample(), _ => "many"));
        Assert.Equal("environment variable SAMPLE_N: 'many' is not a whole number from 3 to 1000", ex.Message);
    }

    [Fact]
    public void Parse_LeavesWhatItDoesNotKnow()
    {
        Table.Parse(["--a", "--n", "5", "b"], out var rest, new Sample(), _ => null);
        Assert.Equal(["--a", "b"], rest);
    }

    [Fact]
    public void TheFrameworksTableIsPublicAndFrozen()
    {
        Assert.NotNull(RunOptions.Table.Find("--tolerance"));
        Assert.Equal("CONVERGENCE_SERVICE_DIR", RunOptions.Table.Find("--service")!.Variable);
        Assert.Throws<InvalidOperationException>(() => RunOptions.Table.Add("--mine", null, "X", "no", (o, _) => o));
    }

    [Fact]
    public void DuplicateOrMalformedNames_AreRefusedWhenTheTableIsBuilt()
    {
        Assert.Throws<ArgumentException>(() => new OptionTable<Sample>("t") { { "--n", null, "N", "a", (o, _) => o }, { "--n", null, "N", "b", (o, _) => o } });
        Assert.Throws<ArgumentException>(() => new OptionTable<Sample>("t") { { "n", null, "N", "a", (o, _) => o } });
    }

    private sealed record Sample
    {
        public int N { get; init; } = 10;

        public string Method { get; init; } = "sor";

        public bool Verbose { get; init; }
    }
}
