namespace Convergence.Cli;

/// <summary>One sub-command of the <c>convergence</c> tool (<c>convergence NAME args…</c>).</summary>
internal interface ICliCommand
{
    /// <summary>The word that selects the command.</summary>
    string Name { get; }

    /// <summary>One line for the tool's help.</summary>
    string Summary { get; }

    /// <summary>Runs the command with the arguments after its name; returns the process exit code.</summary>
    int Run(IReadOnlyList<string> args);
}
