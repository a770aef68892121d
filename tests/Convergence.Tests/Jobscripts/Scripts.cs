using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Jobscripts;

/// <summary>Where the job scripts are and what every one of them is.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class Scripts
{
    /// <summary>The <c>jobscripts/</c> folder.</summary>
    public static string Folder => Path.Combine(Repo.Root, "jobscripts");

    /// <summary>The SemWES entry point.</summary>
    public static string EntryPoint => Path.Combine(Folder, "semwes-entrypoint.sh");

    /// <summary>The no-container runner.</summary>
    public static string WithoutContainer => Path.Combine(Folder, "run-without-container.sh");

    /// <summary>Every shell script in <c>jobscripts/</c> (by extension or shebang).</summary>
    public static IReadOnlyList<string> All => Directory.GetFiles(Folder)
        .Where(f => f.EndsWith(".sh", StringComparison.Ordinal) || f.EndsWith(".sbatch", StringComparison.Ordinal)
            || File.ReadLines(f).FirstOrDefault()?.StartsWith("#!", StringComparison.Ordinal) == true)
        .Order(StringComparer.Ordinal)
        .ToList();

    /// <summary>Writes an executable <c>/bin/sh</c> script (a stand-in solver) and returns its path.</summary>
    public static string WriteFakeSolver(string folder, string name, string body)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }
}
