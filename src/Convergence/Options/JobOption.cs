
namespace Convergence.Options;

/// <summary>
/// One row of an <see cref="OptionTable{T}"/>: an option's name, its environment variable, the name of its
/// value in the help, the help line, and how a value changes the options it belongs to.
/// </summary>
/// <typeparam name="T">The options record the row sets (e.g. <see cref="RunOptions"/> or a solver's own).</typeparam>
/// <param name="Name">The option as typed, e.g. <c>--n</c>; also accepted as <c>--n=VALUE</c>.</param>
/// <param name="Variable">The environment variable read when the command line does not give the option; null for none.</param>
/// <param name="ValueName">The value's name in the help (e.g. <c>N</c>); null for a flag (present means on, <c>--flag=off</c> turns it off).</param>
/// <param name="Help">One line for <c>--help</c>; its start also explains a missing value.</param>
/// <param name="Apply">
/// Returns the options with the value applied. Throws <see cref="FormatException"/> for a bad value with a
/// message saying what was wrong (the table adds where it came from); <see cref="OptionValue"/> has parsers.
/// </param>
public sealed record JobOption<T>(string Name, string? Variable, string? ValueName, string Help, Func<T, string, T> Apply)
{
    /// <summary>The option's syntax in the help, e.g. <c>--n &lt;N&gt;</c>.</summary>
    public string Syntax => ValueName is null ? Name : $"{Name} <{ValueName}>";
}
