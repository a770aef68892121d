using System.Collections;

namespace Convergence.Options;

/// <summary>
/// A table of options with one precedence rule: the command line first, then the environment, then the
/// defaults. The framework's own options (<see cref="RunOptions"/>) are such a table; a solver declares its
/// options in another and hands it to the job's entry point, which parses both, prints both in one
/// <c>--help</c> and reports a bad value in one style (<c>option --n: 'x' is not a whole number…</c>).
/// </summary>
/// <typeparam name="T">The options record the table fills, usually a <c>sealed record</c> with <c>init</c> properties and defaults.</typeparam>
/// <example>
/// <code>
/// public static readonly OptionTable&lt;HeatOptions&gt; Table = new("Heat solver options")
/// {
///     { "--n", null, "N", "grid points per side (default 256)", (o, v) => o with { N = OptionValue.Int(v, 3, 100_000) } },
/// };
/// </code>
/// </example>
/// <remarks>Build it once (a static field); it is not changed after the first parse and is safe to read from any thread.</remarks>
public sealed class OptionTable<T> : IOptionTable, IEnumerable<JobOption<T>>
{
    private readonly List<JobOption<T>> _rows = [];
    private bool _frozen;

    /// <summary>Creates an empty table; add rows with a collection initialiser.</summary>
    /// <param name="title">The heading of this table in <c>--help</c>.</param>
    public OptionTable(string title)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(title);
        Title = title;
    }

    /// <inheritdoc />
    public string Title { get; }

    /// <summary>The rows in the order they were added (the order of the help).</summary>
    public IReadOnlyList<JobOption<T>> Rows => _rows;

    /// <inheritdoc />
    public IEnumerable<(string Syntax, string Help, string? Variable)> HelpRows => _rows.Select(r => (r.Syntax, r.Help, r.Variable));

    /// <summary>Adds a row.</summary>
    /// <exception cref="ArgumentException">The name does not start with <c>--</c> or is already in the table.</exception>
    /// <exception cref="InvalidOperationException">The table is frozen (the framework's own).</exception>
    public void Add(JobOption<T> row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (_frozen)
        {
            throw new InvalidOperationException($"the table '{Title}' is frozen: declare a solver's options in a table of its own");
        }

        if (!row.Name.StartsWith("--", StringComparison.Ordinal) || row.Name.Length < 3 || row.Name.Contains('=', StringComparison.Ordinal))
        {
            throw new ArgumentException($"option name '{row.Name}' must start with -- and contain no '='", nameof(row));
        }

        if (_rows.Exists(r => r.Name == row.Name))
        {
            throw new ArgumentException($"option {row.Name} is already in the table '{Title}'", nameof(row));
        }

        _rows.Add(row);
    }

    /// <summary>Adds a row (for collection initialisers): see <see cref="JobOption{T}"/> for the parameters.</summary>
    public void Add(string name, string? variable, string? valueName, string help, Func<T, string, T> apply) =>
        Add(new JobOption<T>(name, variable, valueName, help, apply));

    /// <summary>The row for <paramref name="name"/> (e.g. <c>--n</c>), or null.</summary>
    public JobOption<T>? Find(string name) => _rows.Find(r => r.Name == name);

    /// <summary>
    /// Resolves the options: every row's environment variable (when set and not empty) over
    /// <paramref name="defaults"/>, then the command line over both. Arguments that are not in the table
    /// are returned in <paramref name="remaining"/>, in order.
    /// </summary>
    /// <exception cref="OptionsException">A value is missing or malformed; the message names the option or the variable.</exception>
    public T Parse(IReadOnlyList<string> args, out List<string> remaining, T defaults, Func<string, string?>? environment = null) =>
        Parse(args, out remaining, defaults, environment, null, null);

    /// <summary>
    /// Like <see cref="Parse(IReadOnlyList{string}, out List{string}, T, Func{string, string?})"/>, and records in
    /// <paramref name="given"/> where each value the user gave came from (name → <c>option --x</c> or
    /// <c>environment variable X</c>; the command line's when both gave one).
    /// </summary>
    internal T Parse(IReadOnlyList<string> args, out List<string> remaining, T defaults, Func<string, string?>? environment, Dictionary<string, string> given) =>
        Parse(args, out remaining, defaults, environment, null, given);

    /// <summary>
    /// Like <see cref="ParseAll(IReadOnlyList{string}, T, Func{string, string?})"/>, and adds each row's resolved value (as text, null when not given) to <paramref name="fingerprint"/>;
    /// an unknown option is compared with this table's names and <paramref name="otherNames"/> (the framework's) for a "did you mean".
    /// </summary>
    internal T ParseAll(IReadOnlyList<string> args, T defaults, Func<string, string?>? environment, OptionFingerprint? fingerprint, IEnumerable<string> otherNames)
    {
        var options = Parse(args, out var remaining, defaults, environment, fingerprint, null);
        RefuseRemaining(remaining, otherNames);
        return options;
    }

    private T Parse(IReadOnlyList<string> args, out List<string> remaining, T defaults, Func<string, string?>? environment, OptionFingerprint? fingerprint, Dictionary<string, string>? given)
    {
        ArgumentNullException.ThrowIfNull(args);
        environment ??= Environment.GetEnvironmentVariable;
        var options = defaults;

        // The value that won for each row (the command line's last, else the environment's): the solver's
        // options as resolved, which the ranks compare.
        var resolved = new string?[_rows.Count];
        for (var r = 0; r < _rows.Count; r++)
        {
            var row = _rows[r];
            var value = row.Variable is null ? null : environment(row.Variable);
            if (!string.IsNullOrEmpty(value))
            {
                var source = $"environment variable {row.Variable}";
                options = Apply(row, options, value, source);
                resolved[r] = value;
                given?[row.Name] = source;
            }
        }

        remaining = [];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
            var name = eq < 0 ? arg : arg[..eq];
            var index = _rows.FindIndex(r => r.Name == name);
            if (index < 0)
            {
                remaining.Add(arg);
                continue;
            }

            var row = _rows[index];

            string value;
            if (eq >= 0)
            {
                value = arg[(eq + 1)..];
            }
            else if (row.ValueName is null)
            {
                // A flag: present means on; it never takes the next argument as its value.
                value = "on";
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new OptionsException($"option {name} needs a value ({row.ValueName}): {row.Help}");
            }

            options = Apply(row, options, value, $"option {name}");
            resolved[index] = value;
            given?[row.Name] = $"option {name}";
        }

        if (fingerprint is not null)
        {
            for (var r = 0; r < _rows.Count; r++)
            {
                fingerprint.Add(_rows[r].Name, resolved[r]);
            }
        }

        return options;
    }

    /// <summary>Like <see cref="Parse(IReadOnlyList{string}, out List{string}, T, Func{string, string?})"/>, but an argument the table does not know is an error.</summary>
    /// <exception cref="OptionsException">An unknown argument, or a value is missing or malformed.</exception>
    public T ParseAll(IReadOnlyList<string> args, T defaults, Func<string, string?>? environment = null)
    {
        var options = Parse(args, out var remaining, defaults, environment);
        RefuseRemaining(remaining, []);
        return options;
    }

    /// <inheritdoc />
    public IEnumerator<JobOption<T>> GetEnumerator() => _rows.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Makes the table read-only (the framework's table, which every job shares).</summary>
    internal OptionTable<T> Freeze()
    {
        _frozen = true;
        return this;
    }

    /// <summary>
    /// Applies one value; a <see cref="FormatException"/> becomes a one-line error naming its source, and an
    /// <see cref="OptionsException"/> from the record's own check (which names the option) gets the
    /// environment variable in front when the value came from there.
    /// </summary>
    internal static T Apply(JobOption<T> row, T options, string value, string source)
    {
        try
        {
            return row.Apply(options, value);
        }
        catch (FormatException ex)
        {
            throw new OptionsException($"{source}: {ex.Message}", ex);
        }
        catch (OptionsException ex) when (!source.StartsWith("option ", StringComparison.Ordinal))
        {
            throw new OptionsException($"{source}: {ex.Message}", ex);
        }
    }

    private void RefuseRemaining(List<string> remaining, IEnumerable<string> otherNames)
    {
        if (remaining.Count == 0)
        {
            return;
        }

        var first = remaining[0];
        if (!first.StartsWith('-'))
        {
            throw new OptionsException($"unexpected argument '{first}'");
        }

        var nearest = OptionSuggestion.Nearest(first, _rows.Select(r => r.Name).Concat(otherNames));
        throw nearest is null
            ? new OptionsException($"unknown option '{first}'")
            : new OptionsException($"unknown option '{first}' (did you mean {nearest}?)") { SaysWhatToDo = true };
    }
}
