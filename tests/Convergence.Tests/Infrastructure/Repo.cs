using System.Reflection;

namespace Convergence.Tests.Infrastructure;

/// <summary>Paths inside the repository and to the build outputs the tests launch.</summary>
public static class Repo
{
    /// <summary>The build configuration this test assembly was built with (outputs of other projects match it).</summary>
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    private static readonly Lazy<string> RootPath = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Convergence.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException($"Convergence.sln not found above {AppContext.BaseDirectory}");
    });

    /// <summary>The repository root (where Convergence.sln is).</summary>
    public static string Root => RootPath.Value;

    /// <summary>The main DLL of a project built in <see cref="Configuration"/>, e.g. <c>Output("examples/Poisson", "Poisson")</c>.</summary>
    public static string Output(string projectFolder, string assemblyName)
    {
        var path = Path.Combine(Root, projectFolder, "bin", Configuration, "net10.0", assemblyName + ".dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{path} is missing: build the solution in {Configuration} first (the test command does).");
    }

    /// <summary>A fresh empty folder under the system temp folder, for one test's service folder.</summary>
    public static string NewTempFolder(string label)
    {
        var path = Path.Combine(Path.GetTempPath(), "convergence-tests", $"{label}-{Guid.NewGuid():N}"[..Math.Min(label.Length + 13, 60)]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>The test assembly's folder.</summary>
    public static string TestOutput => Path.GetDirectoryName(Assembly.GetExecutingAssembly().Location)!;
}
