using System.Diagnostics;
using System.Globalization;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Packaging;

/// <summary>
/// Packs every package of this build once per test class into a scratch feed, and prepares a scratch
/// consumer folder outside the repository whose NuGet.config adds that feed (the usual feed stays for
/// MPI.NET, MathNet.Numerics and xunit), with a template hive of its own.
/// </summary>
/// <remarks>
/// Each fixture packs with a version of its own (<c>0.1.0-test.…</c>), so NuGet's global cache can never
/// hand a consumer a package packed by an earlier run under the same version.
/// </remarks>
public sealed class PackageFeed : IDisposable
{
    /// <summary>dotnet pack, new and build are slow on a shared 2-core machine; these only catch hangs.</summary>
    public static readonly TimeSpan SlowStep = TimeSpan.FromMinutes(10);

    /// <summary>The packages the repository publishes.</summary>
    public static readonly string[] PackageIds = ["Convergence", "Convergence.Mpi", "Convergence.MathNet", "Convergence.Testing", "Convergence.Tool", "Convergence.Templates"];

    private readonly List<(string Step, TimeSpan Took)> _timings = [];

    public PackageFeed()
    {
        Suffix = "test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        Folder = Repo.NewTempFolder("feed");
        Consumer = Repo.NewTempFolder("consumer");
        Hive = Path.Combine(Consumer, ".template-hive");
        File.WriteAllText(Path.Combine(Consumer, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="convergence-scratch" value="{Folder}" />
              </packageSources>
            </configuration>
            """);

        // The solution is built (the test command builds it first): pack its outputs, build nothing again.
        Run("pack", Repo.Root, ["pack", Path.Combine(Repo.Root, "Convergence.sln"), "-c", Repo.Configuration, "--no-build", "-nologo", "-o", Folder, $"-p:VersionSuffix={Suffix}"]);
        Version = Path.GetFileNameWithoutExtension(Directory.GetFiles(Folder, "Convergence.Mpi.*.nupkg").Single())["Convergence.Mpi.".Length..];

        // Once per fixture: installing the same package again into a hive would list its templates twice.
        Run("new install", Consumer, ["new", "install", Package("Convergence.Templates"), "--debug:custom-hive", Hive]);
    }

    /// <summary>The scratch feed holding the packages.</summary>
    public string Folder { get; }

    /// <summary>The scratch folder outside the repository where templates are instantiated.</summary>
    public string Consumer { get; }

    /// <summary>The template engine's settings folder for this fixture (the user's own stays untouched).</summary>
    public string Hive { get; }

    /// <summary>The prerelease label of this fixture's packages.</summary>
    public string Suffix { get; }

    /// <summary>The packages' version, e.g. <c>0.1.0-test.20261201093000123</c>.</summary>
    public string Version { get; }

    /// <summary>How long each slow step took, for the test output (the issue asks for the CI time these tests add).</summary>
    public IReadOnlyList<(string Step, TimeSpan Took)> Timings => _timings;

    /// <summary>The path of a package in the feed.</summary>
    public string Package(string id, string extension = ".nupkg") => Path.Combine(Folder, $"{id}.{Version}{extension}");

    /// <summary>Runs <c>dotnet args…</c> in <paramref name="workingDirectory"/>; fails with its output unless it exits 0.</summary>
    public string Run(string step, string workingDirectory, IEnumerable<string> args)
    {
        var clock = Stopwatch.StartNew();
        using var p = RunningProcess.Start("dotnet", args, workingDirectory: workingDirectory);
        var code = p.WaitForExit(SlowStep);
        lock (_timings)
        {
            _timings.Add((step, clock.Elapsed));
        }

        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} exited with {code}\n{p.Output}");
        return p.Stdout;
    }

    public void Dispose()
    {
        foreach (var folder in new[] { Folder, Consumer })
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A folder a test left a process in; the temp folder is cleaned with the machine.
            }
        }
    }
}
