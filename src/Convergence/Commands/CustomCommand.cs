namespace Convergence.Commands;

/// <summary>A command a solver adds to the protocol, such as <c>SET relaxation 1.3</c>.</summary>
/// <param name="Name">The command name; letters, digits and underscores, matched case-insensitively.</param>
/// <param name="Usage">How to call it, shown in rejections and on the status page (e.g. <c>SET &lt;name&gt; &lt;value&gt;</c>).</param>
/// <param name="Description">One line for the status page's control.</param>
/// <param name="Validate">
/// Checks the argument text on rank 0 before the command is distributed; returns <see langword="null"/>
/// when it is acceptable, else a one-line reason. Must not throw; an exception counts as a rejection.
/// </param>
public sealed record CustomCommand(string Name, string Usage, string Description, Func<string, string?>? Validate = null);
