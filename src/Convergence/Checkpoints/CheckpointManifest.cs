using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Convergence.Checkpoints;

/// <summary>
/// The file that makes a checkpoint complete: what the framework saved (iteration, tolerance, residual,
/// restarts) and every rank's part with its size and SHA-256. Rank 0 writes it last, after every part is
/// on disk, so a checkpoint without a valid manifest is incomplete by definition.
/// </summary>
/// <remarks>
/// Text, one <c>key=value</c> per line, readable with <c>cat</c>. The last line is the SHA-256 of everything
/// before it, so a truncated or edited manifest is detected like a damaged part.
/// </remarks>
public sealed record CheckpointManifest
{
    /// <summary>The first line of every manifest; a different one is a format this version cannot read.</summary>
    public const string FormatLine = "convergence-checkpoint 1";

    /// <summary>The checkpoint's number, increasing over the folder's life.</summary>
    public required long Id { get; init; }

    /// <summary>The job that wrote it.</summary>
    public required string Job { get; init; }

    /// <summary>The solver that wrote it.</summary>
    public required string Solver { get; init; }

    /// <summary>
    /// The compatibility key of the job that wrote it (<see cref="Convergence.Solver.ICheckpointable.CompatibilityKey"/>,
    /// or the solver's name); a job loads the checkpoint only when its own key is the same. Empty in
    /// manifests written before keys existed: those match no job.
    /// </summary>
    public string Key { get; init; } = string.Empty;

    /// <summary>The number of ranks that wrote it (one part each).</summary>
    public required int Ranks { get; init; }

    /// <summary>Iterations since the last (re)start at the checkpoint.</summary>
    public required long Iteration { get; init; }

    /// <summary>Iterations over the whole run at the checkpoint.</summary>
    public required long TotalIterations { get; init; }

    /// <summary>The tolerance in force.</summary>
    public required double Tolerance { get; init; }

    /// <summary>The global residual at the checkpoint.</summary>
    public required double Residual { get; init; }

    /// <summary>Restarts before the checkpoint.</summary>
    public required int Restarts { get; init; }

    /// <summary>What asked for it (command, periodic, signal, deadline, stop).</summary>
    public required string Reason { get; init; }

    /// <summary>When rank 0 wrote the manifest.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>One part per rank, in rank order.</summary>
    public required IReadOnlyList<CheckpointPart> Parts { get; init; }

    /// <summary>
    /// How the solver's declared global arrays are split over the parts (<see cref="Convergence.Solver.IDistributedCheckpointable"/>),
    /// or null when the solver declares none (then only a job on the same rank count can load it).
    /// </summary>
    public CheckpointLayout? Layout { get; init; }

    /// <summary>
    /// Lines of the manifest this version does not interpret itself (other than <c>layout.</c> and <c>part</c>),
    /// by key, as read; empty for a manifest built in memory. Not written back by <see cref="Format"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> OtherFields { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Two-level checkpoints: the shared level each part is also copied to (a copy counts once it matches the
    /// part's SHA-256); null for a checkpoint in one folder. Written as <c>level_shared=</c>.
    /// </summary>
    public string? SharedLevel { get; init; }

    /// <summary>
    /// Two-level checkpoints: by rank, the node whose node-local folder holds that rank's part (written as
    /// <c>part_level=RANK local:HOST shared</c>); empty for a checkpoint in one folder.
    /// </summary>
    public IReadOnlyList<string> PartHosts { get; init; } = [];

    /// <summary>The sum of the parts' lengths.</summary>
    public long TotalBytes => Parts.Sum(p => p.Length);

    /// <summary>The manifest as written to disk, self-checksum included.</summary>
    public string Format()
    {
        var sb = new StringBuilder();
        sb.Append(FormatLine).Append('\n');
        Line(sb, "id", Id.ToString(CultureInfo.InvariantCulture));
        Line(sb, "job", OneLine(Job));
        Line(sb, "solver", OneLine(Solver));
        Line(sb, "key", OneLine(Key));
        Line(sb, "ranks", Ranks.ToString(CultureInfo.InvariantCulture));
        Line(sb, "iteration", Iteration.ToString(CultureInfo.InvariantCulture));
        Line(sb, "total_iterations", TotalIterations.ToString(CultureInfo.InvariantCulture));
        Line(sb, "tolerance", Tolerance.ToString("R", CultureInfo.InvariantCulture));
        Line(sb, "residual", Residual.ToString("R", CultureInfo.InvariantCulture));
        Line(sb, "restarts", Restarts.ToString(CultureInfo.InvariantCulture));
        Line(sb, "reason", OneLine(Reason));
        Line(sb, "created_at", CreatedAt.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        Layout?.Format(sb);
        foreach (var part in Parts)
        {
            Line(sb, "part", FormattableString.Invariant($"{part.Rank} {part.FileName} {part.Length} {part.Sha256}"));
        }

        if (SharedLevel is not null)
        {
            Line(sb, "level_shared", OneLine(SharedLevel));
            for (var r = 0; r < PartHosts.Count; r++)
            {
                Line(sb, "part_level", FormattableString.Invariant($"{r} local:{OneLine(PartHosts[r]).Replace(' ', '_')} shared"));
            }
        }

        var body = sb.ToString();
        return body + "sha256=" + Hash(body) + "\n";
    }

    /// <summary>Parses and verifies a manifest.</summary>
    /// <exception cref="InvalidDataException">Truncated, edited, of another format, or inconsistent; the message says which.</exception>
    public static CheckpointManifest Parse(string text)
    {
        var checksumAt = text.LastIndexOf("sha256=", StringComparison.Ordinal);
        if (!text.StartsWith(FormatLine + "\n", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"not a manifest of format '{FormatLine}'");
        }

        if (checksumAt < 0 || (checksumAt > 0 && text[checksumAt - 1] != '\n') || !text.EndsWith('\n'))
        {
            throw new InvalidDataException("manifest is truncated (no final checksum line)");
        }

        var body = text[..checksumAt];
        var stated = text[(checksumAt + "sha256=".Length)..].TrimEnd('\n');
        if (!string.Equals(stated, Hash(body), StringComparison.Ordinal))
        {
            throw new InvalidDataException("manifest checksum does not match its content (edited or damaged)");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var parts = new List<CheckpointPart>();
        var layout = new List<(string Key, string Value)>();
        var hosts = new List<string>();
        foreach (var line in body.Split('\n').Skip(1))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            var key = line[..eq];
            var value = line[(eq + 1)..];
            if (key == "part")
            {
                parts.Add(ParsePart(value));
            }
            else if (key.StartsWith(CheckpointLayout.KeyPrefix, StringComparison.Ordinal))
            {
                layout.Add((key, value));
            }
            else if (key == "part_level")
            {
                hosts.Add(value.Split(' ') is [_, var local, ..] && local.StartsWith("local:", StringComparison.Ordinal) ? local["local:".Length..] : "?");
            }
            else
            {
                fields[key] = value;
            }
        }

        var manifest = new CheckpointManifest
        {
            Id = Long(fields, "id"),
            Job = Text(fields, "job"),
            Solver = Text(fields, "solver"),
            Key = fields.GetValueOrDefault("key", string.Empty),
            Ranks = (int)Long(fields, "ranks"),
            Iteration = Long(fields, "iteration"),
            TotalIterations = Long(fields, "total_iterations"),
            Tolerance = Double(fields, "tolerance"),
            Residual = Double(fields, "residual"),
            Restarts = (int)Long(fields, "restarts"),
            Reason = Text(fields, "reason"),
            CreatedAt = DateTimeOffset.TryParse(Text(fields, "created_at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created)
                ? created
                : throw new InvalidDataException("manifest 'created_at' is not a date"),
            Parts = parts,
            SharedLevel = fields.GetValueOrDefault("level_shared"),
            PartHosts = hosts,
        };
        if (manifest.Ranks < 1 || parts.Count != manifest.Ranks || parts.Select((p, i) => p.Rank == i).Any(ok => !ok))
        {
            throw new InvalidDataException($"manifest names {parts.Count} parts for {manifest.Ranks} ranks");
        }

        string[] known = ["id", "job", "solver", "key", "ranks", "iteration", "total_iterations", "tolerance", "residual", "restarts", "reason", "created_at", "level_shared"];
        return manifest with
        {
            Layout = CheckpointLayout.Parse(layout, manifest.Ranks),
            OtherFields = fields.Where(f => !known.Contains(f.Key)).ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal),
        };
    }

    /// <summary>Lower-case hex SHA-256 of <paramref name="text"/> as UTF-8.</summary>
    internal static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static CheckpointPart ParsePart(string value)
    {
        var f = value.Split(' ');
        if (f.Length != 4
            || !int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rank)
            || !long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            || f[3].Length != 64
            || f[1].Contains('/', StringComparison.Ordinal) || f[1].StartsWith('.'))
        {
            throw new InvalidDataException($"manifest part line '{value}' is malformed");
        }

        return new CheckpointPart(rank, f[1], length, f[3]);
    }

    private static void Line(StringBuilder sb, string key, string value) => sb.Append(key).Append('=').Append(value).Append('\n');

    /// <summary><paramref name="value"/> with line breaks turned into spaces, as the manifest stores it.</summary>
    internal static string OneLine(string value) => value.Replace('\n', ' ').Replace('\r', ' ');

    private static string Text(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"manifest has no '{key}'");

    private static long Long(Dictionary<string, string> fields, string key) =>
        long.TryParse(Text(fields, key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new InvalidDataException($"manifest '{key}' is not a whole number");

    private static double Double(Dictionary<string, string> fields, string key) =>
        double.TryParse(Text(fields, key), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new InvalidDataException($"manifest '{key}' is not a number");
}
