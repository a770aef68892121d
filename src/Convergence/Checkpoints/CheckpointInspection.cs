namespace Convergence.Checkpoints;

/// <summary>What one checkpoint folder is worth: its manifest if complete, and what is wrong with it if anything.</summary>
/// <param name="Id">The checkpoint's number.</param>
/// <param name="Manifest">The verified manifest; null when the checkpoint is incomplete or its manifest damaged.</param>
/// <param name="Problem">Why it cannot be loaded (no manifest, manifest or a part damaged), or null.</param>
/// <param name="PartsVerified">Every part was re-hashed and matched (false when not checked or when one failed).</param>
public sealed record CheckpointVerdict(long Id, CheckpointManifest? Manifest, string? Problem, bool PartsVerified)
{
    /// <summary>True when it has a valid manifest (written completely) and no problem was found.</summary>
    public bool Usable => Manifest is not null && Problem is null;
}

/// <summary>
/// The judgement of one checkpoint that <c>--resume</c>, <c>RESTART checkpoint</c> and the
/// <c>convergence checkpoints</c> tool share: complete (a manifest that verifies) and, when asked, every part
/// of the size and SHA-256 its manifest names (<see cref="CheckpointStore.VerifyPart"/>, the check a load makes
/// through <see cref="CheckpointStore.OpenVerifiedPart"/>). File operations only.
/// </summary>
public static class CheckpointInspection
{
    /// <summary>The problem of a checkpoint folder without a manifest.</summary>
    public const string Incomplete = "incomplete (no manifest; interrupted while being written)";

    /// <summary>
    /// Reads checkpoint <paramref name="id"/>'s manifest; null with <paramref name="problem"/> saying why when
    /// the checkpoint is incomplete or its manifest damaged.
    /// </summary>
    public static CheckpointManifest? ReadComplete(CheckpointStore store, long id, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!store.HasManifest(id))
        {
            problem = Incomplete;
            return null;
        }

        try
        {
            problem = null;
            return store.ReadManifest(id);
        }
        catch (InvalidDataException ex)
        {
            problem = ex.Message;
            return null;
        }
    }

    /// <summary>Judges checkpoint <paramref name="id"/>; with <paramref name="verifyParts"/> every part is re-hashed.</summary>
    public static CheckpointVerdict Inspect(CheckpointStore store, long id, bool verifyParts)
    {
        var manifest = ReadComplete(store, id, out var problem);
        if (manifest is null || !verifyParts)
        {
            return new CheckpointVerdict(id, manifest, problem, false);
        }

        var bad = manifest.Parts.Select(p => store.VerifyPart(id, p)).Where(p => p is not null).ToList();
        return bad.Count == 0
            ? new CheckpointVerdict(id, manifest, null, true)
            : new CheckpointVerdict(id, manifest, string.Join("; ", bad), false);
    }
}
