using System.Reflection;
using System.Text;

namespace Convergence.Options;

/// <summary>
/// The job's <c>--help</c>: every table in one layout (the one .NET command-line tools use: a usage line,
/// then titled sections with the syntax in an aligned first column), so the framework's and the solver's
/// options read as one list.
/// </summary>
internal static class OptionHelp
{
    private const int MaxSyntaxColumn = 34;

    /// <summary>The whole help text, ending with a newline.</summary>
    public static string Format(IOptionTable framework, IOptionTable? solver, string? solverText)
    {
        var sections = new List<(string Title, List<(string Syntax, string Help)> Rows)>
        {
            (framework.Title, [.. framework.HelpRows.Select(Describe), ("-h, --help", "show this help and exit")]),
        };
        if (solver is not null)
        {
            sections.Add((solver.Title, [.. solver.HelpRows.Select(Describe)]));
        }

        var width = Math.Min(MaxSyntaxColumn, sections.SelectMany(s => s.Rows).Max(r => r.Syntax.Length) + 2);
        var sb = new StringBuilder();
        sb.Append("Usage: ").Append(ProgramName()).Append(" [options]\n");
        foreach (var (title, rows) in sections)
        {
            sb.Append('\n').Append(title).Append(":\n");
            foreach (var (syntax, help) in rows)
            {
                sb.Append("  ").Append(syntax);
                if (syntax.Length + 2 > width)
                {
                    // Too long for the column: the description goes on its own line, still aligned.
                    sb.Append('\n').Append(' ', width + 2);
                }
                else
                {
                    sb.Append(' ', width - syntax.Length);
                }

                sb.Append(help).Append('\n');
            }
        }

        if (!string.IsNullOrWhiteSpace(solverText))
        {
            sb.Append("\nSolver options:\n").Append(solverText.TrimEnd()).Append('\n');
        }

        return sb.ToString();
    }

    private static (string Syntax, string Help) Describe((string Syntax, string Help, string? Variable) row) =>
        (row.Syntax, row.Variable is null ? row.Help : $"{row.Help} [env: {row.Variable}]");

    private static string ProgramName() =>
        Assembly.GetEntryAssembly()?.GetName().Name ?? "solver";
}
