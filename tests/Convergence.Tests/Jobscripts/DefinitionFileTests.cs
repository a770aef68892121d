using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Jobscripts;

[SupportedOSPlatform("linux")]
[Collection(MpiCollection.Name)]
public sealed class DefinitionFileTests
{
    private const string ImageRoot = "/opt/convergence/";

    private static string Recipe => Path.Combine(Scripts.Folder, "convergence.def");

    [Fact]
    public void TheRecipeCreatesTheServiceMountPointsAndRunsTheEntryPoint()
    {
        var def = DefinitionFile.Read(Recipe);

        Assert.Equal("docker", def.Header["Bootstrap"]);
        Assert.Matches(@"^debian:12\b", def.Header["From"]);
        // The install steps live in image-recipe.sh, which %post and %test run inside the image (and
        // build-image.sh --rootfs the same way): one place for both builders.
        Assert.Contains(("image-recipe.sh", "/opt/convergence/lib/image-recipe.sh"), def.Files);
        Assert.Contains("/bin/bash /opt/convergence/lib/image-recipe.sh install \"$mpi\" --max-iterations 20", def.Lines("post"));
        Assert.Equal(["/bin/bash /opt/convergence/lib/image-recipe.sh test --max-iterations 20"], def.Lines("test"));
        var recipe = File.ReadAllLines(Path.Combine(Scripts.Folder, "image-recipe.sh")).Select(l => l.Trim()).ToList();
        Assert.Contains("mkdir -p /scratch /service", recipe);
        Assert.Contains(recipe, l => Regex.IsMatch(l, @"apt-get install .*\bmpich\b.*\blibmpich12\b"));
        Assert.Contains(recipe, l => Regex.IsMatch(l, @"^local common=\(.*\blibssl3\b"));
        Assert.Equal(["exec /opt/convergence/bin/semwes-entrypoint.sh \"$@\""], def.Lines("runscript"));
        Assert.Contains(def.Lines("environment"), l => l == "export CONVERGENCE_APP=/opt/convergence/app/Poisson");
    }

    [Fact]
    public void EveryPathTheRecipeCopiesOrRunsExistsInThePublishedOutputAndTheAppRuns()
    {
        // The real build script stages exactly what "apptainer build" would get: the self-contained
        // publish as ./app beside the recipe and the entry point.
        var stage = Path.Combine(Repo.NewTempFolder("image"), "stage");
        using (var build = RunningProcess.Start(Path.Combine(Scripts.Folder, "build-image.sh"), ["--stage-only", stage]))
        {
            var code = build.WaitForExit(TimeSpan.FromMinutes(3));
            Assert.True(code == 0, build.Output);
        }

        var def = DefinitionFile.Read(Path.Combine(stage, "convergence.def"));
        Assert.NotEmpty(def.Files);
        foreach (var (source, _) in def.Files)
        {
            Assert.True(Path.Exists(Path.Combine(stage, source)), $"%files source '{source}' is not in the staged build {stage}");
        }

        // The recipe's paths and those image-recipe.sh (its %post and %test) names.
        var recipeText = File.ReadAllText(Path.Combine(stage, "image-recipe.sh"));
        var paths = def.PathsUnder(ImageRoot)
            .Concat(Regex.Matches(recipeText, @"/opt/convergence/[A-Za-z0-9._/-]+").Select(m => m.Value.TrimEnd('/', '.')))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.Contains("/opt/convergence/app/Poisson", paths);
        Assert.Contains("/opt/convergence/bin/semwes-entrypoint.sh", paths);
        Assert.Contains("${app_dir}/libcoreclr.so", recipeText, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(stage, "app", "libcoreclr.so")));
        foreach (var path in paths)
        {
            var host = HostPathOf(def, stage, path);
            Assert.True(Path.Exists(host), $"{path} (named in the recipe) would not exist in the image: {host} is missing from the staged build");
        }

        // What the image runs, run here: the staged self-contained solver under the staged entry point.
        var service = Path.Combine(stage, "service");
        using var run = RunningProcess.Start(Path.Combine(stage, "semwes-entrypoint.sh"), ["--n", "16"], new Dictionary<string, string?>
        {
            ["CONVERGENCE_SERVICE_DIR"] = service,
            ["CONVERGENCE_APP"] = HostPathOf(def, stage, "/opt/convergence/app/Poisson"),
        });
        Assert.True(run.WaitForExit(TimeSpan.FromSeconds(60)) == 0, run.Output);
        Assert.Equal("CONVERGED", Notify.ReadResult(service)["outcome"]);
    }

    // Maps a path inside the image to the staged file that %files copies there.
    private static string HostPathOf(DefinitionFile def, string stage, string imagePath)
    {
        foreach (var (source, destination) in def.Files)
        {
            if (imagePath == destination)
            {
                return Path.Combine(stage, source);
            }

            if (imagePath.StartsWith(destination + "/", StringComparison.Ordinal))
            {
                return Path.Combine(stage, source, imagePath[(destination.Length + 1)..]);
            }
        }

        // A parent folder of a %files destination exists because the copy (and %setup) creates it.
        if (def.Files.Any(f => f.Destination.StartsWith(imagePath + "/", StringComparison.Ordinal)))
        {
            return stage;
        }

        return Path.Combine(stage, "not-copied-by-%files", imagePath.TrimStart('/'));
    }
}
