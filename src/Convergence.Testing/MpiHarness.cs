using System.Diagnostics;
using System.Globalization;
using System.Text;
using Convergence.Mpi;

namespace Convergence.Testing;

/// <summary>
/// Runs a solver on several ranks under a real <c>mpirun</c> (MPICH's or Open MPI's), through the framework's MPI
/// coordinator and real control loop, with a script of commands at given iterations: the multi-rank variant of
/// <see cref="SolverHarness"/>, for testing a solver's halo exchange (the same answer on 1 and on N ranks).
/// </summary>
/// <remarks>
/// <para>
/// Each rank is a process of the test assembly's own application (its <c>.deps.json</c> and
/// <c>.runtimeconfig.json</c>) entered through this package's rank program; it creates
/// the factory type and asks it for the rank's solver. The factory must therefore live in the
/// test project's own assembly and have a parameterless constructor.
/// </para>
/// <para>
/// The script travels the path a user's command takes: rank 0 appends each line to the service folder's
/// <c>notifications.txt</c> once its iteration is done and waits until the watcher has taken it, while the
/// other ranks wait at the sync; the coordinator broadcasts it, and every rank applies it at that iteration's
/// boundary. Every rank records the global residual of each iteration and writes what it saw to a file in the
/// job's work folder, which <see cref="RunAsync{TFactory}"/> reads back.
/// </para>
/// <para>
/// A rank that throws prints the error and aborts the whole job, which ends the call with an
/// <see cref="MpiHarnessException"/> carrying the ranks' standard error; a job still running at the timeout is
/// killed (launcher and ranks) and ends it with a <see cref="TimeoutException"/>.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var one = await MpiHarness.RunAsync&lt;SmallGrid&gt;(ranks: 1, MpiFamily.MpichAbi, arguments: ["--max-iterations", "50"]);
/// var three = await MpiHarness.RunAsync&lt;SmallGrid&gt;(ranks: 3, MpiFamily.MpichAbi, arguments: ["--max-iterations", "50"]);
/// Assert.Equal(one.Residuals[^1].Residual, three.Residuals[^1].Residual, 1e-12);
/// </code>
/// </example>
public static class MpiHarness
{
    /// <summary>How long a job may run when the caller gives no timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    // How long the processes of a killed job may take to end before the call gives up waiting for them.
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(30);

    // The end of the ranks' standard error that goes into an exception's message (all of it is in Output).
    private const int StderrInMessage = 4000;

    /// <summary>Runs the job on <paramref name="ranks"/> ranks and returns what each rank observed.</summary>
    /// <typeparam name="TFactory">Builds each rank's solver; lives in the test project.</typeparam>
    /// <param name="ranks">The number of ranks (1 or more; Open MPI gets <c>--oversubscribe</c> past 2).</param>
    /// <param name="family">Whose launcher and library: <see cref="MpiFamily.MpichAbi"/> (<c>mpirun.mpich</c>) or <see cref="MpiFamily.OpenMpi"/> (<c>mpirun.openmpi</c>).</param>
    /// <param name="script">
    /// Lines to send, each after the given total iteration (1 or more), e.g. <c>(10, "CHECKPOINT")</c>,
    /// <c>(20, "SOURCE 2")</c>; none for a run without commands.
    /// </param>
    /// <param name="arguments">
    /// The job's command line: the framework's options (<c>--tolerance</c>, <c>--max-iterations</c>, …) and the
    /// solver's own, which the factory gets in <c>JobSetup.SolverArguments</c>. The defaults are
    /// <see cref="TestRunOptions.Create"/>'s, in a fresh service folder; the sync is at every iteration.
    /// </param>
    /// <param name="timeout">How long the job may run before it is killed; <see cref="DefaultTimeout"/> when null.</param>
    /// <param name="cancellationToken">Kills the job when cancelled.</param>
    /// <returns>Each rank's result, journal (rank 0), residual history, result fields and log.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ranks"/> or a scripted iteration is below 1.</exception>
    /// <exception cref="MpiHarnessException">The launcher is not installed, the test assembly is not an application, or the job failed.</exception>
    /// <exception cref="TimeoutException">The job did not end within the timeout (it has been killed).</exception>
    public static async Task<MpiHarnessRun> RunAsync<TFactory>(
        int ranks,
        MpiFamily family,
        IEnumerable<(long Iteration, string Command)>? script = null,
        IEnumerable<string>? arguments = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
        where TFactory : IRankSolverFactory, new()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        var steps = (script ?? []).OrderBy(s => s.Iteration).Select(s => new ScriptLine(s.Iteration, s.Command)).ToArray();
        foreach (var step in steps)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(step.Iteration, 1, nameof(script));
            ArgumentNullException.ThrowIfNull(step.Command, nameof(script));
        }

        var launcher = MpiLaunch.FindLauncher(family) ?? throw new MpiHarnessException(MpiLaunch.NotInstalled(family));
        var application = ApplicationOf(typeof(TFactory));
        var work = TestRunOptions.NewServiceFolder();
        var service = Path.Combine(work, "service");
        Directory.CreateDirectory(service);
        var jobFile = Path.Combine(work, HarnessFiles.JobFileName);
        HarnessFiles.Write(jobFile, new HarnessJob(typeof(TFactory).AssemblyQualifiedName!, [.. arguments ?? []], steps, service, work));

        var info = new ProcessStartInfo(launcher)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        foreach (var argument in MpiLaunch.Command(family, ranks).Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var argument in (string[])["dotnet", "exec", "--runtimeconfig", application.RuntimeConfig, "--depsfile", application.Deps, typeof(MpiHarness).Assembly.Location, jobFile])
        {
            info.ArgumentList.Add(argument);
        }

        // The job's options come from the arguments alone, not from a developer's CONVERGENCE_* settings; the
        // library is the launcher's family, whatever else is installed.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("CONVERGENCE_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment[MpiRuntime.LibraryVariable] = family == MpiFamily.OpenMpi ? "openmpi" : "mpich";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in MpiLaunch.Environment(family))
        {
            info.Environment[key] = value;
        }

        var what = string.Create(CultureInfo.InvariantCulture, $"the {ranks}-rank {(family == MpiFamily.OpenMpi ? "Open MPI" : "MPICH")} job of {typeof(TFactory).Name}");
        var (exitCode, output, stderr) = await RunLauncher(info, what, timeout ?? DefaultTimeout, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            var tail = stderr.Length > StderrInMessage ? "…" + stderr[^StderrInMessage..] : stderr;
            throw new MpiHarnessException(string.Create(CultureInfo.InvariantCulture, $"{what} failed (exit code {exitCode}); its standard error:\n{tail.TrimEnd()}"), exitCode, output);
        }

        var runs = new List<RankRun>(ranks);
        for (var rank = 0; rank < ranks; rank++)
        {
            var report = HarnessFiles.ReportPath(work, rank);
            if (!File.Exists(report))
            {
                throw new MpiHarnessException(string.Create(CultureInfo.InvariantCulture, $"{what} ended without rank {rank}'s report {report}: did MPI start {ranks} ranks? Output:\n{output}"), exitCode, output);
            }

            runs.Add(HarnessFiles.Read<RankReport>(report).ToRun());
        }

        return new MpiHarnessRun(runs, service, output);
    }

    /// <summary>The application the factory's assembly belongs to: its runtime configuration and dependency list.</summary>
    private static (string RuntimeConfig, string Deps) ApplicationOf(Type factory)
    {
        var assembly = factory.Assembly.Location;
        var runtimeConfig = Path.ChangeExtension(assembly, ".runtimeconfig.json");
        var deps = Path.ChangeExtension(assembly, ".deps.json");
        if (string.IsNullOrEmpty(assembly) || !File.Exists(runtimeConfig) || !File.Exists(deps))
        {
            throw new MpiHarnessException($"{factory.FullName} must be in the test project itself: the ranks run the test assembly's application, but {(string.IsNullOrEmpty(assembly) ? "its assembly has no file" : $"{runtimeConfig} or {deps} is missing")}");
        }

        return (runtimeConfig, deps);
    }

    /// <summary>Runs the launcher to its end, or kills it (with every rank) at the timeout or on cancellation.</summary>
    private static async Task<(int ExitCode, string Output, string Stderr)> RunLauncher(ProcessStartInfo info, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        if (!process.Start())
        {
            throw new MpiHarnessException($"could not start {info.FileName}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The launcher and every rank it started: nothing of the job may outlive the call.
            var ranks = ProcessTree.Descendants(process.Id);
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await WaitUntilGone(ranks).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"{what} did not end within {timeout.TotalSeconds:0} s and was killed (a rank stuck in a collective or in its halo exchange?); its output so far:\n{Combined(stdout, stderr)}"));
        }

        // The exit is seen before the last lines: wait for the end of both streams.
        process.WaitForExit();
        return (process.ExitCode, Combined(stdout, stderr), Text(stderr));
    }

    /// <summary>Waits (up to <see cref="KillGrace"/>) until the killed processes have ended: SIGKILL is delivered, not awaited.</summary>
    private static async Task WaitUntilGone(IReadOnlyList<int> pids)
    {
        var clock = Stopwatch.StartNew();
        while (pids.Any(pid => !ProcessTree.IsGone(pid)) && clock.Elapsed < KillGrace)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is not null)
        {
            lock (buffer)
            {
                buffer.Append(line).Append('\n');
            }
        }
    }

    private static string Text(StringBuilder buffer)
    {
        lock (buffer)
        {
            return buffer.ToString();
        }
    }

    private static string Combined(StringBuilder stdout, StringBuilder stderr) => $"--- stdout ---\n{Text(stdout)}--- stderr ---\n{Text(stderr)}";
}
