using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Convergence.Journal;
using Convergence.Solver;

namespace Convergence.Testing;

/// <summary>
/// The files between <see cref="MpiHarness"/> and its ranks, in the job's work folder: the job (written by the
/// test, read by every rank) and one report per rank (written by the rank at its end).
/// </summary>
internal static class HarnessFiles
{
    /// <summary>The job file's name in the work folder.</summary>
    public const string JobFileName = "harness-job.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        // A residual can be NaN or infinite (a diverging solver); the report must carry it as it was.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    /// <summary>Rank <paramref name="rank"/>'s report in <paramref name="folder"/>.</summary>
    public static string ReportPath(string folder, int rank) => Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"rank-{rank}.json"));

    /// <summary>Writes <paramref name="value"/> as JSON, atomically (the reader sees the whole file or none).</summary>
    public static void Write<T>(string path, T value)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(value, Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a file written by <see cref="Write{T}"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not what the harness wrote.</exception>
    public static T Read<T>(string path) =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} is empty");
}

/// <summary>The job every rank runs.</summary>
/// <param name="Factory">The factory's assembly-qualified type name.</param>
/// <param name="Arguments">The command line: the framework's options and the solver's.</param>
/// <param name="Script">The lines rank 0 sends, by iteration.</param>
/// <param name="ServiceDirectory">The service folder.</param>
/// <param name="ReportDirectory">Where each rank writes its report.</param>
internal sealed record HarnessJob(string Factory, string[] Arguments, ScriptLine[] Script, string ServiceDirectory, string ReportDirectory);

/// <summary>One scripted line.</summary>
/// <param name="Iteration">The total iteration after which it is sent.</param>
/// <param name="Command">The line.</param>
internal sealed record ScriptLine(long Iteration, string Command);

/// <summary>What one rank observed; <see cref="RankRun"/> once read back.</summary>
/// <param name="Rank">The rank.</param>
/// <param name="Result">Its result.</param>
/// <param name="Journal">Rank 0's journal; empty elsewhere.</param>
/// <param name="Iterations">The total iteration of each recorded residual.</param>
/// <param name="Residuals">The global residual after each of <paramref name="Iterations"/>.</param>
/// <param name="ResultFields">The solver's result fields, as key and value pairs.</param>
/// <param name="Log">The rank's log.</param>
internal sealed record RankReport(int Rank, RunResult Result, JournalEntry[] Journal, long[] Iterations, double[] Residuals, string[][] ResultFields, string Log)
{
    /// <summary>The report as the test sees it.</summary>
    public RankRun ToRun() => new(
        Rank,
        Result,
        Journal,
        Iterations.Zip(Residuals).ToArray(),
        ResultFields.Select(f => (f[0], f[1])).ToArray(),
        Log);
}
