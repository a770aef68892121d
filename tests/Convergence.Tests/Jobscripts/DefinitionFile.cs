using System.Text.RegularExpressions;

namespace Convergence.Tests.Jobscripts;

/// <summary>An Apptainer definition file read the way <c>apptainer build</c> reads it: header, then <c>%sections</c>.</summary>
internal sealed partial class DefinitionFile
{
    private DefinitionFile(IReadOnlyDictionary<string, string> header, IReadOnlyDictionary<string, string> sections)
    {
        Header = header;
        Sections = sections;
    }

    /// <summary>Header keywords (<c>Bootstrap</c>, <c>From</c>) and their values.</summary>
    public IReadOnlyDictionary<string, string> Header { get; }

    /// <summary>Section name (without %) → its body.</summary>
    public IReadOnlyDictionary<string, string> Sections { get; }

    /// <summary>The <c>%files</c> pairs: source on the build host → destination in the image.</summary>
    public IReadOnlyList<(string Source, string Destination)> Files =>
        Lines("files").Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .Select(p => (p[0], p.Length > 1 ? p[1] : p[0]))
            .ToList();

    /// <summary>Every absolute path under <paramref name="prefix"/> named anywhere in the file's sections.</summary>
    public IReadOnlyList<string> PathsUnder(string prefix) =>
        Sections.Values.SelectMany(body => PathPattern().Matches(body).Select(m => m.Value))
            .Where(p => p.StartsWith(prefix, StringComparison.Ordinal))
            .Select(p => p.TrimEnd('/', '.'))
            .Distinct(StringComparer.Ordinal)
            .ToList();

    /// <summary>The non-blank, non-comment lines of a section, trimmed.</summary>
    public IReadOnlyList<string> Lines(string section) =>
        (Sections.TryGetValue(section, out var body) ? body : string.Empty)
            .Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();

    public static DefinitionFile Read(string path)
    {
        var header = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        var body = new List<string>();
        foreach (var raw in File.ReadAllLines(path))
        {
            var section = SectionPattern().Match(raw);
            if (section.Success)
            {
                Flush();
                current = section.Groups[1].Value;
                continue;
            }

            if (current is null)
            {
                var colon = raw.IndexOf(':', StringComparison.Ordinal);
                if (!raw.TrimStart().StartsWith('#') && colon > 0)
                {
                    header[raw[..colon].Trim()] = raw[(colon + 1)..].Trim();
                }
            }
            else
            {
                body.Add(raw);
            }
        }

        Flush();
        return new DefinitionFile(header, sections);

        void Flush()
        {
            if (current is not null)
            {
                Assert.False(sections.ContainsKey(current), $"section %{current} appears twice in {path}");
                sections[current] = string.Join('\n', body);
            }

            body.Clear();
        }
    }

    [GeneratedRegex(@"^%([a-z]+)\s*$")]
    private static partial Regex SectionPattern();

    [GeneratedRegex(@"/[A-Za-z0-9._/-]+")]
    private static partial Regex PathPattern();
}
