using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Cli;

/// <summary>Runs the real <c>convergence</c> command (the apphost next to Convergence.Cli.dll) as a child process.</summary>
internal static class CliProcess
{
    /// <summary>The <c>convergence</c> executable of this build.</summary>
    public static string Executable
    {
        get
        {
            var path = Path.Combine(Repo.Root, "src", "Convergence.Cli", "bin", Repo.Configuration, "net10.0", "convergence");
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException($"{path} is missing: build the solution in {Repo.Configuration} first");
        }
    }

    /// <summary>Runs <c>convergence args…</c> to its end (10 s at most).</summary>
    public static (int Code, string Stdout, string Stderr) Run(IEnumerable<string> args, IDictionary<string, string?>? environment = null)
    {
        using var p = RunningProcess.Start(Executable, args, environment);
        var code = p.WaitForExit(TimeSpan.FromSeconds(20));
        return (code, p.Stdout, p.Stderr);
    }
}
