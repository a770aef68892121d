using System.Text.RegularExpressions;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Control;

/// <summary>
/// The folders' dependencies stay as docs/ARCHITECTURE.md draws them: the solver's contract imports neither
/// the loop nor the hosting, and the loop reaches checkpoints, signals and hosting only through its
/// constructor's interfaces.
/// </summary>
public sealed partial class LayeringTests
{
    [Theory]
    [InlineData("Solver", new[] { "Control", "Hosting", "Checkpoints", "Signals", "Intake", "Journal", "Status", "Output" })]
    [InlineData("Control", new[] { "Hosting", "Checkpoints", "Signals", "Output" })]
    [InlineData("Options", new[] { "Control", "Hosting" })]
    [InlineData("Coordination", new[] { "Control", "Hosting", "Options", "Solver" })]
    public void AFolder_DoesNotImportTheLayersAboveIt(string folder, string[] forbidden)
    {
        var files = Directory.GetFiles(Path.Combine(Repo.Root, "src", "Convergence", folder), "*.cs");
        Assert.NotEmpty(files);
        var offending = new List<string>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            Assert.Matches($@"(?m)^namespace Convergence\.{folder};", text);
            foreach (Match use in Reference().Matches(text))
            {
                if (forbidden.Contains(use.Groups[1].Value))
                {
                    offending.Add($"{Path.GetFileName(file)}: Convergence.{use.Groups[1].Value}");
                }
            }
        }

        Assert.True(offending.Count == 0, $"{folder} imports: {string.Join(", ", offending)}");
    }

    // A using directive, or a qualified name in code or a cref.
    [GeneratedRegex(@"\bConvergence\.(\w+)[.;]")]
    private static partial Regex Reference();
}
