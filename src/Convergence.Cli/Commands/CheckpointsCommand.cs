using System.CommandLine;
using System.Globalization;
using System.Text;
using Convergence.Checkpoints;

namespace Convergence.Cli.Commands;

/// <summary>
/// <c>convergence checkpoints list|verify [--checkpoint-dir DIR]</c>: the checkpoints of a folder with their
/// iteration, time, ranks, size, compatibility key and level, and whether each is complete and verified, judged
/// as <c>--resume</c> judges them (<see cref="CheckpointInspection"/>).
/// </summary>
internal static class CheckpointsCommand
{
    /// <summary>The command's name on the command line.</summary>
    public const string Name = "checkpoints";

    /// <summary>The environment variable the job reads its checkpoint folder from.</summary>
    public const string FolderVariable = "CONVERGENCE_CHECKPOINT_DIR";

    private static readonly string[] Header = ["ID", "ITERATION", "TOTAL", "CREATED (UTC)", "RANKS", "RESUMES ON", "BYTES", "LEVEL", "STATE", "KEY"];

    private const string ListSummary =
        "List every checkpoint (newest first): id, iteration, time, ranks, size, level, state (complete and verified, re-hashing every part, as --resume judges it) and compatibility key. Exit codes: 0 listed, 1 no folder, 2 bad command line.";

    private const string VerifySummary =
        "Re-hash the parts of every checkpoint, or of those named (ckpt-00000012 or 12). Exit codes: 0 the newest complete one and every named one verify, 1 one of them is damaged, incomplete or missing, 2 bad command line.";

    /// <summary>The command for the tool's parser, with its two subcommands.</summary>
    public static Command Create(Func<string, string?> environment)
    {
        var list = new Command("list", ListSummary);
        var listFolder = FolderOption();
        var listService = ServiceFolderOption.Create();
        list.Add(listFolder);
        list.Add(listService);
        list.SetAction(parsed => List(parsed.GetValue(listFolder), parsed.GetValue(listService), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error, environment));

        var verify = new Command("verify", VerifySummary);
        var verifyFolder = FolderOption();
        var verifyService = ServiceFolderOption.Create();
        var ids = new Argument<string[]>("id") { Description = "Checkpoints to verify (default: every one).", Arity = ArgumentArity.ZeroOrMore };
        verify.Add(verifyFolder);
        verify.Add(verifyService);
        verify.Add(ids);
        verify.SetAction(parsed => Verify(parsed.GetValue(verifyFolder), parsed.GetValue(verifyService), parsed.GetValue(ids) ?? [], parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error, environment));

        return new Command(Name, "List and verify the checkpoints of a folder: which one --resume would load, and which are damaged.") { list, verify };
    }

    /// <summary>Prints the table of checkpoints; returns the exit code.</summary>
    public static int List(string? folderOption, string? serviceOption, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        const string Command = "convergence checkpoints list";
        if (Open(Command, folderOption, serviceOption, stderr, environment) is not { } store)
        {
            return ExitCode.Error;
        }

        var verdicts = store.ListIds().Select(id => CheckpointInspection.Inspect(store, id, verifyParts: true)).ToList();
        stdout.Write(Table(store, verdicts));
        return ExitCode.Ok;
    }

    /// <summary>Verifies every checkpoint or the named ones; returns the exit code.</summary>
    public static int Verify(string? folderOption, string? serviceOption, IReadOnlyList<string> named, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        const string Command = "convergence checkpoints verify";
        var wanted = new List<long>();
        foreach (var text in named)
        {
            if (ParseId(text) is not { } id)
            {
                stderr.WriteLine($"{Command}: '{text}' is not a checkpoint name (ckpt-00000012) or number; run '{Command} --help' for usage");
                return ExitCode.Usage;
            }

            wanted.Add(id);
        }

        if (Open(Command, folderOption, serviceOption, stderr, environment) is not { } store)
        {
            return ExitCode.Error;
        }

        var ids = store.ListIds();
        var failed = false;
        if (wanted.Count == 0)
        {
            if (ids.Count == 0)
            {
                stderr.WriteLine($"{Command}: no checkpoint in {store.Root}");
                return ExitCode.Error;
            }

            // An incomplete folder newer than the newest complete one is a write a crash interrupted: --resume
            // skips it by design, so it is shown but does not fail the check; a damaged manifest does.
            var newestComplete = ids.FirstOrDefault(store.HasManifest, -1);
            foreach (var id in ids)
            {
                var verdict = CheckpointInspection.Inspect(store, id, verifyParts: true);
                stdout.WriteLine(Line(verdict));
                if (id == newestComplete && !verdict.Usable)
                {
                    failed = true;
                    stderr.WriteLine($"{Command}: the newest checkpoint {CheckpointStore.NameOf(id)} in {store.Root} is damaged: {verdict.Problem}");
                }
            }

            if (newestComplete < 0)
            {
                stderr.WriteLine($"{Command}: no complete checkpoint in {store.Root}");
                failed = true;
            }

            return failed ? ExitCode.Error : ExitCode.Ok;
        }

        foreach (var id in wanted)
        {
            if (!ids.Contains(id))
            {
                stderr.WriteLine($"{Command}: {CheckpointStore.NameOf(id)} is not in {store.Root}");
                failed = true;
                continue;
            }

            var verdict = CheckpointInspection.Inspect(store, id, verifyParts: true);
            stdout.WriteLine(Line(verdict));
            if (!verdict.Usable)
            {
                stderr.WriteLine($"{Command}: {CheckpointStore.NameOf(id)} in {store.Root} cannot be loaded: {verdict.Problem}");
                failed = true;
            }
        }

        return failed ? ExitCode.Error : ExitCode.Ok;
    }

    /// <summary>A checkpoint's number from <c>ckpt-00000012</c> or <c>12</c>; null otherwise.</summary>
    internal static long? ParseId(string text)
    {
        var digits = text.StartsWith("ckpt-", StringComparison.Ordinal) ? text[5..] : text;
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 1 ? id : null;
    }

    /// <summary>The table <c>list</c> prints.</summary>
    internal static string Table(CheckpointStore store, IReadOnlyList<CheckpointVerdict> verdicts)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"checkpoints in {store.Root}: {verdicts.Count(v => v.Usable)} usable of {verdicts.Count}\n");
        if (verdicts.Count == 0)
        {
            return sb.ToString();
        }

        var rows = new List<string[]> { Header };
        foreach (var v in verdicts)
        {
            var m = v.Manifest;
            rows.Add(
            [
                CheckpointStore.NameOf(v.Id),
                m is null ? "-" : m.Iteration.ToString(CultureInfo.InvariantCulture),
                m is null ? "-" : m.TotalIterations.ToString(CultureInfo.InvariantCulture),
                m is null ? "-" : m.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                m is null ? "-" : m.Ranks.ToString(CultureInfo.InvariantCulture),
                m is null ? "-" : m.Layout is null ? FormattableString.Invariant($"{m.Ranks} ranks") : "any ranks",
                m is null ? "-" : m.TotalBytes.ToString(CultureInfo.InvariantCulture),
                m is null ? "-" : m.SharedLevel is null ? "single" : "local+shared",
                State(v),
                m is null ? "-" : m.Key,
            ]);
        }

        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            sb.Append(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd()).Append('\n');
        }

        var damaged = verdicts.Where(v => v.Manifest is not null && v.Problem is not null).ToList();
        foreach (var v in damaged)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{CheckpointStore.NameOf(v.Id)}: {v.Problem}\n");
        }

        return sb.ToString();
    }

    private static string State(CheckpointVerdict v) =>
        v.Manifest is null ? (v.Problem == CheckpointInspection.Incomplete ? "incomplete" : "damaged manifest")
        : v.Problem is not null ? "damaged"
        : "complete, verified";

    private static string Line(CheckpointVerdict v) => v.Manifest is { } m && v.Usable
        ? FormattableString.Invariant($"{CheckpointStore.NameOf(v.Id)}: complete, verified ({m.Ranks} parts, {m.TotalBytes} bytes, iteration {m.Iteration}, total {m.TotalIterations})")
        : $"{CheckpointStore.NameOf(v.Id)}: {State(v)}: {v.Problem}";

    private static CheckpointStore? Open(string command, string? folderOption, string? serviceOption, TextWriter stderr, Func<string, string?> environment)
    {
        string folder;
        try
        {
            var fromEnvironment = environment(FolderVariable);
            folder = folderOption
                ?? (string.IsNullOrWhiteSpace(fromEnvironment) ? Path.Combine(ServiceFolderOption.Resolve(serviceOption, environment), "checkpoints") : fromEnvironment);
        }
        catch (CliUsageException ex)
        {
            stderr.WriteLine($"{command}: {ex.Message}");
            return null;
        }

        if (!Directory.Exists(folder))
        {
            stderr.WriteLine($"{command}: checkpoint folder '{folder}' does not exist; name it with --checkpoint-dir (or {FolderVariable}, or --service for <service>/checkpoints)");
            return null;
        }

        return new CheckpointStore(folder);
    }

    private static Option<string?> FolderOption() => new("--checkpoint-dir")
    {
        Description = $"The checkpoint folder [default: ${FolderVariable}, else <service>/checkpoints].",
        HelpName = "dir",
        Arity = ArgumentArity.ExactlyOne,
    };
}
