using System.Globalization;
using Convergence.Options;
using Convergence.Solver;

namespace Convergence.Hosting;

/// <summary>
/// What a chained job's link decides at its end: continue in the next link (already queued by the batch
/// script, with a dependency on this one) or end the chain here, and why. The batch script reads
/// <c>chain=</c> from <c>result.txt</c> and cancels the queued link unless it says <c>continue</c>.
/// </summary>
/// <param name="Link">This link's number (1 for the first).</param>
/// <param name="MaxLinks">The longest chain allowed.</param>
/// <param name="NextJob">The queued next link's job id; null when none was queued.</param>
/// <param name="Continues">True when the next link is to run.</param>
/// <param name="Reason">Why, in words.</param>
public sealed record ChainStep(int Link, int MaxLinks, string? NextJob, bool Continues, string Reason)
{
    /// <summary>
    /// The decision for a link that ended with <paramref name="result"/>: the chain continues only after a stop
    /// at the allocation's end (deadline or the scheduler's advance signal), below the maximum length, with
    /// progress (a checkpoint beyond the iteration this link started from) and a next link queued. A converged
    /// run, a user's STOP, ABORT or scancel, the iteration limit and every failure end it. Null when the job
    /// is not chained.
    /// </summary>
    /// <param name="options">The run's options (chain link, maximum, next job).</param>
    /// <param name="result">How this link's run ended.</param>
    /// <param name="lastCheckpointTotal">Total iterations of the newest complete checkpoint; null when there is none.</param>
    /// <param name="startedAtTotal">Total iterations this link started from (0, or the checkpoint it resumed).</param>
    public static ChainStep? Decide(RunOptions options, RunResult result, long? lastCheckpointTotal, long startedAtTotal)
    {
        if (options.ChainLink == 0)
        {
            return null;
        }

        var link = options.ChainLink;
        var max = options.ChainMax;
        var next = options.ChainNextJob;
        string? end = null;
        if (result.Outcome != RunOutcome.Stopped)
        {
            end = $"the outcome {Output.ResultFile.Word(result.Outcome)} is final";
        }
        else if (result.StopCause is not (StopCause.Deadline or StopCause.AdvanceSignal))
        {
            end = result.StopCause == StopCause.Command ? "stopped by a STOP command" : "stopped by a signal (scancel, Ctrl-C): the user's stop ends the chain";
        }
        else if (link >= max)
        {
            end = string.Create(CultureInfo.InvariantCulture, $"the maximum chain length ({max} links) is reached; resume by hand with --resume");
        }
        else if (lastCheckpointTotal is not { } total || total <= startedAtTotal)
        {
            end = string.Create(CultureInfo.InvariantCulture, $"no progress in this allocation (no checkpoint beyond total iteration {startedAtTotal}): another link would not get further");
        }
        else if (next is null)
        {
            end = "no next link was queued (see the batch script's log)";
        }

        return end is null
            ? new ChainStep(link, max, next, true, string.Create(CultureInfo.InvariantCulture, $"stopped at the allocation's end with a checkpoint at total iteration {lastCheckpointTotal}"))
            : new ChainStep(link, max, next, false, end);
    }

    /// <summary>The lines this adds to <c>result.txt</c>.</summary>
    public IEnumerable<(string Key, string Value)> ResultFields()
    {
        yield return ("chain_link", Link.ToString(CultureInfo.InvariantCulture));
        yield return ("chain_max", MaxLinks.ToString(CultureInfo.InvariantCulture));
        yield return ("chain", Continues ? "continue" : "end");
        yield return ("chain_next_job", Continues ? NextJob! : "none");
        yield return ("chain_reason", Reason);
    }

    /// <summary>What the status page says between two links.</summary>
    public string PageMessage => string.Create(CultureInfo.InvariantCulture,
        $"link {Link} of at most {MaxLinks} ended at its allocation's end; waiting for the next allocation: Slurm job {NextJob} (link {Link + 1}). Commands sent now wait and are applied by it.");

    /// <summary>The log line at the end of the link.</summary>
    public string LogLine => Continues
        ? string.Create(CultureInfo.InvariantCulture, $"chain: link {Link} of at most {MaxLinks} ends; {Reason}; continues in Slurm job {NextJob} (link {Link + 1}) with --resume")
        : string.Create(CultureInfo.InvariantCulture, $"chain: link {Link} of at most {MaxLinks} ends the chain: {Reason}");
}
