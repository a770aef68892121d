namespace Convergence.Options;

/// <summary>
/// The "did you mean" of an unknown option: the known name nearest to what was typed, when it is near
/// enough to be a slip of the keyboard (a letter missing, extra, wrong or two swapped).
/// </summary>
internal static class OptionSuggestion
{
    /// <summary>The known name nearest to <paramref name="typed"/> (its part before any '='), or null when none is close.</summary>
    /// <param name="typed">The unknown argument, e.g. <c>--cels</c> or <c>--cels=40</c>.</param>
    /// <param name="names">The names that would have been accepted.</param>
    public static string? Nearest(string typed, IEnumerable<string> names)
    {
        var eq = typed.IndexOf('=', StringComparison.Ordinal);
        var name = eq < 0 ? typed : typed[..eq];
        if (!name.StartsWith('-'))
        {
            return null;
        }

        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in names)
        {
            // One slip per three letters of the name, at least one: "--n" for "--nn", not "--sync" for "--size".
            var allowed = Math.Max(1, candidate.TrimStart('-').Length / 3);
            var distance = Distance(name, candidate);
            if (distance <= allowed && distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best;
    }

    /// <summary>Edits from <paramref name="a"/> to <paramref name="b"/>: insert, delete, replace, or swap two neighbours, one each.</summary>
    private static int Distance(string a, string b)
    {
        // Three rows of the table are enough: the swap looks two rows back.
        var before = new int[b.Length + 1];
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var d = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d = Math.Min(d, before[j - 2] + 1);
                }

                current[j] = d;
            }

            (before, previous, current) = (previous, current, before);
        }

        return previous[b.Length];
    }
}
