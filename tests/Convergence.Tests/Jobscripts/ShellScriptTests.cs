using Convergence.Tests.Infrastructure;

namespace Convergence.Tests.Jobscripts;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ShellScriptTests
{
    [Fact]
    public void ShellcheckPassesOnEveryScript()
    {
        var scripts = Scripts.All;
        Assert.Contains(scripts, s => s.EndsWith("semwes-entrypoint.sh", StringComparison.Ordinal));
        Assert.Contains(scripts, s => s.EndsWith("slurm-hybrid.sbatch", StringComparison.Ordinal));
        Assert.Contains(scripts, s => s.EndsWith("slurm-bare-metal.sbatch", StringComparison.Ordinal));
        Assert.Contains(scripts, s => s.EndsWith("local-slurm.sh", StringComparison.Ordinal));

        using var p = RunningProcess.Start("shellcheck", new[] { "--severity=info", "--shell=bash" }.Concat(scripts));
        var code = p.WaitForExit(TimeSpan.FromSeconds(60));

        Assert.True(code == 0, $"shellcheck found problems in jobscripts/:\n{p.Output}");
    }

    [Fact]
    public void EveryScriptIsStrictAndExecutable()
    {
        foreach (var script in Scripts.All)
        {
            var lines = File.ReadAllLines(script);
            Assert.True(lines[0] == "#!/usr/bin/env bash", $"{script}: first line must be '#!/usr/bin/env bash', got '{lines[0]}'");
            Assert.True(lines.Contains("set -euo pipefail"), $"{script}: 'set -euo pipefail' is missing");
            Assert.True((File.GetUnixFileMode(script) & UnixFileMode.UserExecute) != 0, $"{script} is not executable");
            Assert.DoesNotMatch(@"/home/[a-z]|/Users/|/work/", File.ReadAllText(script));
        }
    }

    [Fact]
    public void EveryScriptAnswersHelpOrExplainsAMissingPrerequisite()
    {
        // Scripts that need something absent here (a container tool, a Slurm job) must say what in one
        // clear line and exit 2 rather than fail somewhere inside.
        var checks = new (string Script, string[] Args, string Expected)[]
        {
            ("run-local.sh", ["--image", "/nonexistent.sif"], "error:"),
            ("slurm-hybrid.sbatch", [], "not inside a Slurm job"),
            ("slurm-bare-metal.sbatch", [], "not inside a Slurm job"),
            ("local-slurm.sh", ["bogus"], "unknown action 'bogus'"),
            ("local-cluster.sh", ["bogus"], "unknown action 'bogus'"),
            ("local-cluster.sh", ["start", "--nodes", "0"], "--nodes takes a number from 1 to 20"),
            ("build-image.sh", ["--bogus"], "unknown argument '--bogus'"),
            ("run-without-container.sh", [], "--service HOSTDIR is required"),
        };
        foreach (var (script, args, expected) in checks)
        {
            using var p = RunningProcess.Start(Path.Combine(Scripts.Folder, script), args, new Dictionary<string, string?> { ["SLURM_JOB_ID"] = null });
            var code = p.WaitForExit(TimeSpan.FromSeconds(20));
            Assert.True(code == 2, $"{script}: exit {code}\n{p.Output}");
            Assert.Contains(expected, p.Stderr, StringComparison.Ordinal);
        }

        foreach (var script in new[] { "run-local.sh", "build-image.sh", "run-without-container.sh", "local-cluster.sh" })
        {
            using var p = RunningProcess.Start(Path.Combine(Scripts.Folder, script), ["--help"]);
            Assert.Equal(0, p.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Contains(script, p.Stdout, StringComparison.Ordinal);
        }
    }
}
