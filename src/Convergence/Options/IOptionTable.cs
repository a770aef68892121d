
namespace Convergence.Options;

/// <summary>What <c>--help</c> needs of an option table, whatever options record it sets.</summary>
public interface IOptionTable
{
    /// <summary>The heading of the table's part of the help, e.g. "Heat solver options".</summary>
    string Title { get; }

    /// <summary>One entry per option: its syntax (<c>--n &lt;N&gt;</c>), its help line and its environment variable, if any.</summary>
    IEnumerable<(string Syntax, string Help, string? Variable)> HelpRows { get; }
}
