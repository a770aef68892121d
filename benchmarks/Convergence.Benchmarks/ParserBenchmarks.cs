using BenchmarkDotNet.Attributes;
using Convergence.Commands;

namespace Convergence.Benchmarks;

/// <summary>
/// Parser throughput on a realistic mix of portal messages: mostly valid commands (some with <c>#id</c>,
/// some in <c>NAME=value</c> form, one solver-defined), plus blank lines and the mistakes users make.
/// Per-operation figures are per line; lines per second = 1e9 / ns per line.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ParserBenchmarks
{
    private const int Lines = 1024;

    private static readonly string[] Mix =
    [
        "STOP",
        "CHANGE_TOLERANCE 1e-8 #7f3a",
        "checkpoint",
        "change_tolerance=2.5e-7",
        "RESTART",
        "RESTART checkpoint #r-12",
        "SET relaxation 1.3 #ui_4",
        "ABORT #abort-1",
        "",
        "Stop",
        "CHANGE_TOLERANCE -1",
        "FOO bar",
        "STOP now",
        "  CHECKPOINT  #c1  ",
        "SET relaxation 2.5",
        "CHANGE_TOLERANCE 1e-10",
    ];

    private readonly string[] _lines = new string[Lines];
    private readonly string[] _valid = new string[Lines];
    private CommandParser _parser = null!;

    /// <summary>Fills the inputs by cycling through the mix; builds a parser with one custom command.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var valid = Mix.Where(l => new CommandParser(Custom()).Parse(l).Command is not null).ToArray();
        for (var i = 0; i < Lines; i++)
        {
            _lines[i] = Mix[i % Mix.Length];
            _valid[i] = valid[i % valid.Length];
        }

        _parser = new CommandParser(Custom());
    }

    /// <summary>The least any parser does: trim, cut the name off, compare it to one known name.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Lines)]
    public int MinimalSplit()
    {
        var hits = 0;
        foreach (var line in _lines)
        {
            var text = line.AsSpan().Trim();
            var space = text.IndexOf(' ');
            var name = space < 0 ? text : text[..space];
            if (name.Equals("STOP", StringComparison.OrdinalIgnoreCase))
            {
                hits++;
            }
        }

        return hits;
    }

    /// <summary>The parser on the realistic mix (accepted, rejected and blank lines).</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int ParseMix() => ParseAll(_lines);

    /// <summary>The parser on accepted commands only.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int ParseValidOnly() => ParseAll(_valid);

    private int ParseAll(string[] lines)
    {
        var accepted = 0;
        foreach (var line in lines)
        {
            if (_parser.Parse(line).Command is not null)
            {
                accepted++;
            }
        }

        return accepted;
    }

    private static CustomCommand[] Custom() =>
    [
        new CustomCommand("SET", "SET relaxation <0..2>", "Changes the relaxation factor", arguments =>
            arguments.StartsWith("relaxation ", StringComparison.OrdinalIgnoreCase)
            && double.TryParse(arguments.AsSpan(11), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var w)
            && w > 0 && w < 2
                ? null
                : "relaxation must be between 0 and 2"),
    ];
}
