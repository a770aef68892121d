using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit.Abstractions;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Packaging;

/// <summary>
/// A solver author's path, outside this repository: the packages from a scratch feed, the templates
/// installed with <c>dotnet new install</c>, a generated solver built and run under <c>mpirun.mpich -np 2</c>,
/// steered with the <c>convergence</c> tool installed with <c>dotnet tool install</c>.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class PackagingTests(PackageFeed feed, ITestOutputHelper output) : IClassFixture<PackageFeed>, IDisposable
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void EachPackageHoldsItsReadmeDocsAndLicence_AndNoFileFromOutsideItsProject()
    {
        var expected = new Dictionary<string, string[]>
        {
            ["Convergence"] = ["lib/net10.0/Convergence.dll", "lib/net10.0/Convergence.xml"],
            ["Convergence.Mpi"] = ["lib/net10.0/Convergence.Mpi.dll", "lib/net10.0/Convergence.Mpi.xml"],
            ["Convergence.MathNet"] = ["lib/net10.0/Convergence.MathNet.dll", "lib/net10.0/Convergence.MathNet.xml"],
            ["Convergence.Testing"] = ["lib/net10.0/Convergence.Testing.dll", "lib/net10.0/Convergence.Testing.xml"],
            ["Convergence.Tool"] =
            [
                "tools/net10.0/any/Convergence.Cli.dll", "tools/net10.0/any/Convergence.Cli.xml", "tools/net10.0/any/Convergence.Cli.pdb",
                "tools/net10.0/any/Convergence.Cli.deps.json", "tools/net10.0/any/Convergence.Cli.runtimeconfig.json",
                "tools/net10.0/any/Convergence.dll", "tools/net10.0/any/Convergence.xml", "tools/net10.0/any/Convergence.pdb",
                "tools/net10.0/any/System.CommandLine.dll", "tools/net10.0/any/DotnetToolSettings.xml",
            ],
            ["Convergence.Templates"] = [.. TemplateFiles()],
        };
        var packaging = new[] { "_rels/.rels", "[Content_Types].xml", "README.md", "LICENSE" };
        var root = Encoding.UTF8.GetBytes(Repo.Root);
        foreach (var (id, files) in expected)
        {
            AssertPackage(id, files, packaging, root);
        }

        foreach (var id in new[] { "Convergence", "Convergence.Mpi", "Convergence.MathNet", "Convergence.Testing", "Convergence.Tool" })
        {
            using var symbols = ZipFile.OpenRead(feed.Package(id, ".snupkg"));
            Assert.Contains(symbols.Entries, e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal));
            AssertNoRepositoryPath(symbols, root, id + " symbols");
        }
    }

    [Fact]
    public void TheSolverTemplate_TakesTheGivenName_BuildsWithoutWarnings_RunsOnTwoRanks_AndTheToolSteersIt()
    {
        // A name other than the template's own: files, types, the option heading, the environment variable,
        // the solver's name and its checkpoint key all follow it.
        var project = NewFromTemplate("convergence-solver", "ReactDiff");
        var files = Directory.GetFiles(project, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(project, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal).ToList();
        output.WriteLine(string.Join("\n", files));
        Assert.Equal(
            [
                "Directory.Build.props", "README.md", "ReactDiff.slnx",
                "src/ReactDiff/Program.cs", "src/ReactDiff/ReactDiff.csproj", "src/ReactDiff/ReactDiffEquation.Checkpoint.cs",
                "src/ReactDiff/ReactDiffEquation.cs", "src/ReactDiff/ReactDiffOptions.cs",
                "tests/ReactDiff.Tests/ReactDiff.Tests.csproj", "tests/ReactDiff.Tests/ReactDiffEquationTests.cs",
            ],
            files);
        foreach (var file in files)
        {
            var text = File.ReadAllText(Path.Combine(project, file));
            Assert.DoesNotMatch(@"Heat[A-Z]|HEAT|heat-", text);
        }

        Assert.Contains("internal sealed partial class ReactDiffEquation : IIterativeSolver", File.ReadAllText(Path.Combine(project, "src/ReactDiff/ReactDiffEquation.cs")), StringComparison.Ordinal);
        Assert.Contains("public string Name => \"reactdiff-jacobi\";", File.ReadAllText(Path.Combine(project, "src/ReactDiff/ReactDiffEquation.cs")), StringComparison.Ordinal);
        var readme = File.ReadAllText(Path.Combine(project, "README.md"));
        Assert.Contains("mpirun.mpich -np 2 dotnet src/ReactDiff/bin/Release/net10.0/ReactDiff.dll", readme, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^mpirun ", readme);

        var build = feed.Run("build ReactDiff", project, ["build", "-c", "Release", "-nologo"]);
        Assert.Contains("0 Warning(s)", build, StringComparison.Ordinal);
        var tests = feed.Run("test ReactDiff.Tests", project, ["test", "-c", "Release", "--no-build", "-nologo"]);

        // Seven tests, three of them on the test kit (Convergence.Testing from the feed): the scripted run in one process and the 1- and 3-rank runs under mpirun.mpich included.
        Assert.Matches(@"Failed:\s+0, Passed:\s+7, Skipped:\s+0", tests);
        var dll = Path.Combine(project, "src", "ReactDiff", "bin", "Release", "net10.0", "ReactDiff.dll");
        var help = feed.Run("ReactDiff --help", project, [dll, "--help"]);
        Assert.Contains("ReactDiff solver options:", help, StringComparison.Ordinal);
        Assert.Contains("[env: REACTDIFF_N]", help, StringComparison.Ordinal);
        var convergence = InstallTool();

        var service = Path.Combine(project, "service");
        using var job = RunningProcess.Start(
            "mpirun.mpich",
            ["-np", "2", "dotnet", dll, "--service", service, "--n", "64", "--slow-ms", "5", "--poll-ms", "50", "--status-ms", "100"],
            workingDirectory: project);
        WaitForFile(Path.Combine(service, "status.json"), job);

        var notifications = Path.Combine(service, "notifications.txt");
        var linesBefore = File.Exists(notifications) ? File.ReadAllLines(notifications).Length : 0;
        var (code, stdout, stderr) = Tool(convergence, ["notify", "--service", service, "CHANGE_TOLERANCE 1e-12 #t1"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("sent 1 message", stdout, StringComparison.Ordinal);
        Assert.Equal(["CHANGE_TOLERANCE 1e-12 #t1"], File.ReadAllLines(notifications).Skip(linesBefore));
        job.WaitForOutput("command applied seq=1 id=t1", JobTimeout);

        WaitForJournal(service, "t1", job);
        var (statusCode, status, statusError) = Tool(convergence, ["status", "--service", service]);
        Assert.True(statusCode == 0, statusError);
        Assert.Contains("ReactDiff (solver reactdiff-jacobi, 2 ranks)", status, StringComparison.Ordinal);
        Assert.True(status.Contains("tolerance  1e-12", StringComparison.Ordinal), $"no 'tolerance  1e-12' in:\n{status}");
        Assert.Contains("#1 CHANGE_TOLERANCE 1e-12 #t1: applied at iteration", status, StringComparison.Ordinal);

        // The installed tool's portal (Kestrel, from the shared ASP.NET Core framework) sends the STOP.
        SendThroughPortal(convergence, service, "STOP #p1");
        Assert.Equal(0, job.WaitForExit(JobTimeout));
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("2", result["ranks"]);
        Assert.Equal("1E-12", result["tolerance"]);
        Assert.Equal("64x64", result["grid"]);
        Assert.Contains("[rank 1] end outcome=STOPPED", job.Stdout, StringComparison.Ordinal);
        var (_, finalStatus, _) = Tool(convergence, ["status", "--service", service]);
        Assert.Contains("state      Stopped", finalStatus, StringComparison.Ordinal);
        Assert.Contains("outcome=STOPPED", finalStatus, StringComparison.Ordinal);
    }

    /// <summary>One package's files, metadata and sibling versions, and that it names no path of this checkout.</summary>
    private void AssertPackage(string id, string[] files, string[] packaging, byte[] root)
    {
        using var zip = ZipFile.OpenRead(feed.Package(id));
        var entries = zip.Entries.Select(e => e.FullName).Where(n => !n.StartsWith("package/services/metadata/", StringComparison.Ordinal) && n != $"{id}.nuspec").Order(StringComparer.Ordinal).ToList();
        Assert.Equal([.. packaging.Concat(files).Order(StringComparer.Ordinal)], entries);
        Assert.Equal(File.ReadAllText(Path.Combine(Repo.Root, "LICENSE")), Read(zip, "LICENSE"));
        Assert.StartsWith($"# {id}", Read(zip, "README.md"), StringComparison.Ordinal);

        var nuspec = XDocument.Parse(Read(zip, $"{id}.nuspec"));
        string? Meta(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.Equal(feed.Version, Meta("version"));
        Assert.Equal("MIT", Meta("license"));
        Assert.Equal("README.md", Meta("readme"));
        Assert.False(string.IsNullOrWhiteSpace(Meta("description")), id);
        Assert.StartsWith("https://", Meta("projectUrl"), StringComparison.Ordinal);

        // One version for all: every dependency on a sibling package names this same version.
        foreach (var dependency in nuspec.Descendants().Where(e => e.Name.LocalName == "dependency" && e.Attribute("id")!.Value.StartsWith("Convergence", StringComparison.Ordinal)))
        {
            Assert.Equal(feed.Version, dependency.Attribute("version")!.Value);
        }

        AssertNoRepositoryPath(zip, root, id);
    }

    [Fact]
    public void TheMathNetTemplate_BuildsWithoutWarnings_AndIsSteeredSingleProcess()
    {
        var project = NewFromTemplate("convergence-mathnet", "SparseSolve");
        Assert.True(File.Exists(Path.Combine(project, "README.md")));
        var build = feed.Run("build SparseSolve", project, ["build", "-c", "Release", "-nologo"]);
        Assert.Contains("0 Warning(s)", build, StringComparison.Ordinal);

        var service = Path.Combine(project, "service");
        var dll = Path.Combine(project, "bin", "Release", "net10.0", "SparseSolve.dll");
        using var job = RunningProcess.Start("dotnet", [dll, "--service", service, "--n", "40", "--slow-ms", "200", "--tolerance", "1e-13", "--poll-ms", "50", "--status-ms", "100"], workingDirectory: project);
        WaitForFile(Path.Combine(service, "status.json"), job);
        var notifications = Path.Combine(service, "notifications.txt");
        Notify.Append(notifications, "CHANGE_TOLERANCE 1e-14 #t1");
        job.WaitForOutput("command applied seq=1 id=t1", JobTimeout);
        WaitForJournal(service, "t1", job);
        Notify.Append(notifications, "STOP");

        Assert.Equal(0, job.WaitForExit(JobTimeout));
        var result = Notify.ReadResult(service);
        Assert.Equal("STOPPED", result["outcome"]);
        Assert.Equal("1E-14", result["tolerance"]);
        Assert.True(result.ContainsKey("max_u"), job.Output);
    }

    public void Dispose()
    {
        foreach (var (step, took) in feed.Timings)
        {
            output.WriteLine($"{step}: {took.TotalSeconds:0.0} s");
        }
    }

    private static IEnumerable<string> TemplateFiles()
    {
        var content = Path.Combine(Repo.Root, "src", "Convergence.Templates", "content");
        return Directory.EnumerateFiles(content, "*", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Select(f => "content/" + Path.GetRelativePath(content, f).Replace(Path.DirectorySeparatorChar, '/'));
    }

    private static string Read(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open(), Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static void AssertNoRepositoryPath(ZipArchive zip, byte[] root, string what)
    {
        foreach (var entry in zip.Entries)
        {
            using var stream = new MemoryStream();
            using (var s = entry.Open())
            {
                s.CopyTo(stream);
            }

            Assert.True(stream.ToArray().AsSpan().IndexOf(root) < 0, $"{what}: {entry.FullName} names this checkout's path {Encoding.UTF8.GetString(root)}");
        }
    }

    private static (int Code, string Stdout, string Stderr) Tool(string convergence, IEnumerable<string> args)
    {
        using var p = RunningProcess.Start(convergence, args);
        var code = p.WaitForExit(TimeSpan.FromMinutes(1));
        return (code, p.Stdout, p.Stderr);
    }

    /// <summary>Starts <c>convergence portal</c>, posts <paramref name="message"/> as the page's button would, and stops it.</summary>
    private static void SendThroughPortal(string convergence, string service, string message)
    {
        using var portal = RunningProcess.Start(convergence, ["portal", "--service", service, "--port", "0"]);
        portal.WaitForOutput("convergence portal: serving", TimeSpan.FromMinutes(1));
        var url = new Uri(Regex.Match(portal.Stdout, @"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]+").Value);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(url, "/notify")) { Content = new StringContent(message) };
        request.Headers.TryAddWithoutValidation("Authorization", "token " + url.Query["?token=".Length..]);
        request.Headers.Add("X-Convergence-Notify", "1");
        using var response = http.Send(request);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}\n{portal.Output}");
        portal.WaitForOutput("appended " + (Encoding.UTF8.GetByteCount(message) + 1).ToString(CultureInfo.InvariantCulture) + " bytes", TimeSpan.FromSeconds(30));
        using (var term = RunningProcess.Start("kill", ["-TERM", portal.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            Assert.Equal(0, term.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(0, portal.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("convergence portal: stopped", portal.Stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, portal.Stderr);
    }

    private static void WaitForFile(string path, RunningProcess job)
    {
        var deadline = DateTime.UtcNow + JobTimeout;
        while (!File.Exists(path))
        {
            Assert.False(job.HasExited, $"the job exited before writing {path}\n{job.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"{path} not written within {JobTimeout.TotalSeconds:0} s\n{job.Output}");
            Thread.Sleep(50);
        }
    }

    /// <summary>Waits until status.json's journal shows the command with <paramref name="id"/> as applied.</summary>
    private static void WaitForJournal(string service, string id, RunningProcess job)
    {
        var deadline = DateTime.UtcNow + JobTimeout;
        while (true)
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(service, "status.json")));
                if (document.RootElement.GetProperty("journal").EnumerateArray().Any(e => e.GetProperty("text").GetString()!.EndsWith("#" + id, StringComparison.Ordinal) && e.GetProperty("state").GetString() == "Applied"))
                {
                    return;
                }
            }
            catch (IOException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"the journal does not show #{id} applied within {JobTimeout.TotalSeconds:0} s\n{job.Output}");
            Thread.Sleep(100);
        }
    }

    private string NewFromTemplate(string template, string name)
    {
        var project = Path.Combine(feed.Consumer, name);
        feed.Run($"new {template}", feed.Consumer, ["new", template, "-n", name, "-o", project, "--debug:custom-hive", feed.Hive]);

        // Packages only: no project of the generated solver may point into this repository.
        foreach (var csproj in Directory.GetFiles(project, "*.csproj", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(csproj);
            Assert.DoesNotContain(Repo.Root, text, StringComparison.Ordinal);
            foreach (var reference in XDocument.Parse(text).Descendants("ProjectReference"))
            {
                var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(csproj)!, reference.Attribute("Include")!.Value));
                Assert.StartsWith(project + Path.DirectorySeparatorChar, target, StringComparison.Ordinal);
            }

            if (text.Contains("Convergence", StringComparison.Ordinal))
            {
                Assert.Contains($"Version=\"{feed.Version}\"", text, StringComparison.Ordinal);
            }
        }

        return project;
    }

    private string InstallTool()
    {
        var tools = Path.Combine(feed.Consumer, "tools");
        feed.Run("tool install", feed.Consumer, ["tool", "install", "Convergence.Tool", "--tool-path", tools, "--add-source", feed.Folder, "--version", feed.Version]);
        var convergence = Path.Combine(tools, "convergence");
        Assert.True(File.Exists(convergence), $"dotnet tool install left no 'convergence' command in {tools}");
        return convergence;
    }
}
