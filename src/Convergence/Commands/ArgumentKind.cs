namespace Convergence.Commands;

/// <summary>What a typed custom command's argument is (see <see cref="CommandArgument"/>).</summary>
public enum ArgumentKind
{
    /// <summary>A finite decimal number (<see cref="double"/>), optionally bounded.</summary>
    Number = 1,

    /// <summary>A whole number, optionally bounded.</summary>
    WholeNumber = 2,

    /// <summary>One word from a fixed list, matched case-insensitively.</summary>
    Choice = 3,
}
