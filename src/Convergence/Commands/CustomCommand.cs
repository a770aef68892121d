namespace Convergence.Commands;

/// <summary>A command a solver adds to the protocol, such as <c>RELAXATION 1.3</c> or <c>SET relaxation 1.3</c>.</summary>
/// <param name="Name">The command name; letters, digits and underscores, matched case-insensitively.</param>
/// <param name="Usage">How to call it, shown in rejections and on the status page (e.g. <c>SET &lt;name&gt; &lt;value&gt;</c>).</param>
/// <param name="Description">One line for the status page's control.</param>
/// <param name="Validate">
/// Checks the argument text on rank 0 before the command is distributed; returns <see langword="null"/>
/// when it is acceptable, else a one-line reason. Must not throw; an exception counts as a rejection. With a
/// typed <see cref="Argument"/> it runs after the type and range check, on the accepted text.
/// </param>
/// <remarks>
/// A command with free-form arguments gives only a <paramref name="Validate"/> function (or none). A command
/// with one number, whole number or word declares it as <see cref="Argument"/> instead, usually through the
/// constructor that takes a <see cref="CommandArgument"/>: the framework then checks it on rank 0, hands the
/// parsed value to <c>ApplyCommand</c> in <see cref="ControlCommand.Value"/>, and the status page offers a
/// number field with the bounds or a list of the words.
/// </remarks>
public sealed record CustomCommand(string Name, string Usage, string Description, Func<string, string?>? Validate = null)
{
    /// <summary>A command with one typed argument; the usage text is made from the declaration.</summary>
    /// <param name="name">The command name; letters, digits and underscores, matched case-insensitively.</param>
    /// <param name="description">One line for the status page's control.</param>
    /// <param name="argument">The argument's kind and range, e.g. <c>CommandArgument.Number(0, 2, excludeMinimum: true, excludeMaximum: true)</c>.</param>
    public CustomCommand(string name, string description, CommandArgument argument)
        : this(name, (argument ?? throw new ArgumentNullException(nameof(argument))).Usage(name), description)
    {
        Argument = argument;
    }

    /// <summary>
    /// The argument's declared kind and range; null for free-form arguments (only <see cref="Validate"/> checks them).
    /// </summary>
    public CommandArgument? Argument { get; init; }
}
