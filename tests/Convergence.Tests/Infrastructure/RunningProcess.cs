using System.Diagnostics;
using System.Text;
using Convergence.Mpi;
using Convergence.Testing;

namespace Convergence.Tests.Infrastructure;

/// <summary>A real child process with its output captured line by line; killed (whole tree) on dispose.</summary>
public sealed class RunningProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly object _gate = new();

    private RunningProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>.</summary>
    public static RunningProcess Start(string fileName, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        // A test must not inherit a developer's settings.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("CONVERGENCE_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        return new RunningProcess(process);
    }

    /// <summary>
    /// Starts <c>mpirun.mpich -np <paramref name="ranks"/> dotnet <paramref name="dll"/> args…</c>: MPICH by
    /// name, never whichever MPI the <c>mpirun</c> alternative points to.
    /// </summary>
    public static RunningProcess MpiRun(int ranks, string dll, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null) =>
        MpiRun(MpiFamily.MpichAbi, ranks, dll, arguments, environment);

    /// <summary>Starts <c>dotnet <paramref name="dll"/> args…</c> on <paramref name="ranks"/> ranks with the launcher of <paramref name="mpi"/> (see <see cref="MpiLauncher"/>).</summary>
    public static RunningProcess MpiRun(MpiFamily mpi, int ranks, string dll, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null) =>
        MpiStart(mpi, ranks, ["dotnet", dll, .. arguments], environment);

    /// <summary>Starts <paramref name="command"/> on <paramref name="ranks"/> ranks with the launcher of <paramref name="mpi"/>.</summary>
    public static RunningProcess MpiStart(MpiFamily mpi, int ranks, IEnumerable<string> command, IDictionary<string, string?>? environment = null)
    {
        var env = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>());
        foreach (var (key, value) in MpiEnvironment(mpi))
        {
            env.TryAdd(key, value);
        }

        return Start(MpiLauncher(mpi)[0], [.. MpiLauncher(mpi, ranks).Skip(1), .. command], env);
    }

    /// <summary>The launcher command line for <paramref name="ranks"/> ranks (see <see cref="MpiLaunch.Command"/>, which the test kit's multi-rank harness uses too).</summary>
    public static string[] MpiLauncher(MpiFamily mpi, int ranks = 1) => MpiLaunch.Command(mpi, ranks);

    /// <summary>What the launcher of <paramref name="mpi"/> needs in its environment here (see <see cref="MpiLaunch.Environment"/>).</summary>
    public static IReadOnlyDictionary<string, string?> MpiEnvironment(MpiFamily mpi) => MpiLaunch.Environment(mpi);

    /// <summary>Starts <c>dotnet <paramref name="dll"/> args…</c>.</summary>
    public static RunningProcess Dotnet(string dll, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null) =>
        Start("dotnet", new[] { dll }.Concat(arguments), environment);

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Standard output so far.</summary>
    public string Stdout
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>Standard error so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Both streams, for assertion messages.</summary>
    public string Output => $"--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the exit; fails the test with the output if it takes longer than <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            throw new TimeoutException($"process did not exit within {timeout.TotalSeconds:0} s\n{Output}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Waits until stdout contains <paramref name="text"/>; fails with the output on timeout or early exit.</summary>
    public void WaitForOutput(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Stdout.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                if (Stdout.Contains(text, StringComparison.Ordinal))
                {
                    return;
                }

                throw new InvalidOperationException($"process exited ({_process.ExitCode}) before printing '{text}'\n{Output}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{text}' not printed within {timeout.TotalSeconds:0} s\n{Output}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>Kills the process tree.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            sb.Append(line).Append('\n');
        }
    }
}
