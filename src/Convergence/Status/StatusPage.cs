using System.Globalization;
using System.Net;
using System.Text;
using Convergence.Commands;
using Convergence.Journal;

namespace Convergence.Status;

/// <summary>
/// Renders <c>status.html</c>: a self-contained HTML5 page (inline CSS, inline SVG, one inline script, no
/// external resource) that shows the job's progress and journal and whose controls call
/// <c>notify_running_job(message)</c>, the function the SemWES service (or <c>convergence portal</c>)
/// injects into <c>&lt;head&gt;</c>.
/// </summary>
/// <remarks>
/// Every text that came from outside (job and solver names, messages, reasons, custom command names and
/// help) is HTML-escaped, in element content and in attributes alike. Outside text never goes into the
/// script: the script reads it back from data attributes. Thread-safe (no state).
/// </remarks>
public static class StatusPage
{
    /// <summary>The exact messages the built-in controls send (before the <c>#id</c> is appended).</summary>
    public static IReadOnlyList<(string Message, string Label, string Help)> BuiltInControls { get; } =
    [
        ("STOP", "Stop and write results", "finish cleanly at the next sync; the result is written"),
        ("CHECKPOINT", "Checkpoint now", "write a checkpoint at the next sync"),
        ("RESTART", "Restart", "start again from the initial state"),
        ("RESTART checkpoint", "Restart from checkpoint", "roll back to the last checkpoint"),
        ("ABORT", "Abort", "stop at the next sync without finishing"),
        ("PAUSE", "Pause", "hold every rank at the next sync until Resume; idle ranks use no CPU"),
        ("RESUME", "Resume", "go on from the iteration where the job paused"),
    ];

    /// <summary>Renders the page for <paramref name="s"/>.</summary>
    public static string Render(StatusSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var sb = new StringBuilder(16 * 1024);
        var state = StatusText.State(s.State);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        if (!s.Finished)
        {
            // The script reloads the page (keeping typed input); this covers viewers without JavaScript.
            sb.Append(CultureInfo.InvariantCulture, $"<noscript><meta http-equiv=\"refresh\" content=\"{s.RefreshSeconds}\"></noscript>\n");
        }

        sb.Append("<title>").Append(E(s.JobName)).Append(" — ").Append(E(state)).Append("</title>\n");
        sb.Append("<style>\n").Append(StatusPageAssets.Css).Append("\n</style>\n</head>\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"<body data-finished=\"{(s.Finished ? "true" : "false")}\" data-refresh=\"{s.RefreshSeconds}\" data-state=\"{E(state)}\">\n");

        AppendHeader(sb, s, state);
        AppendFigures(sb, s);
        AppendPlot(sb, s);
        AppendControls(sb, s);
        AppendScheduled(sb, s.Scheduled, s.Finished);
        AppendChanges(sb, s);
        AppendJournal(sb, s.Journal);

        sb.Append("<footer>Updated ").Append(E(s.UpdatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)))
            .Append(" UTC").Append(s.Finished ? " · final page" : string.Create(CultureInfo.InvariantCulture, $" · reloads every {s.RefreshSeconds} s while the job runs"))
            .Append("</footer>\n");
        sb.Append("<script>\n").Append(StatusPageAssets.Script).Append("\n</script>\n");
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    private static void AppendHeader(StringBuilder sb, StatusSnapshot s, string state)
    {
        sb.Append("<header>\n<h1 id=\"job\">").Append(E(s.JobName)).Append("</h1>\n");
        sb.Append("<span id=\"state\" class=\"state state-").Append(E(state.Replace(' ', '-'))).Append("\">").Append(E(state)).Append("</span>\n");
        sb.Append("<span class=\"sub\">solver <span id=\"solver\">").Append(E(s.SolverName)).Append("</span> · ")
            .Append(CultureInfo.InvariantCulture, $"<span id=\"ranks\">{s.Ranks}</span> {(s.Ranks == 1 ? "rank" : "ranks")}");
        if (s.Nodes.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $" on {s.Nodes.Count} {(s.Nodes.Count == 1 ? "node" : "nodes")}: <span id=\"nodes\">")
                .Append(E(string.Join(", ", s.Nodes.Select(n => $"{n.Host} ({n.Ranks})")))).Append("</span>");
        }

        sb.Append("</span>\n");
        sb.Append("</header>\n");
        if (!string.IsNullOrEmpty(s.Message))
        {
            sb.Append("<p id=\"message\" class=\"message\">").Append(E(s.Message)).Append("</p>\n");
        }
    }

    private static void AppendFigures(StringBuilder sb, StatusSnapshot s)
    {
        sb.Append("<section aria-label=\"progress\">\n<dl id=\"figures\">\n");
        Figure(sb, "iteration", "Iteration", StatusText.Count(s.Iteration));
        Figure(sb, "residual", "Residual", StatusText.Scientific(s.Residual));
        Figure(sb, "tolerance", "Tolerance", StatusText.Scientific(s.Tolerance));
        Figure(sb, "elapsed", "Elapsed", StatusText.Duration(s.Elapsed));
        Figure(sb, "rate", "Iterations/s", StatusText.Rate(s.IterationsPerSecond));
        Figure(sb, "eta", "Time to tolerance", s.Finished
            ? "—"
            : s.Warning is not null ? "not converging at this rate"
            : s.EstimatedTimeToTolerance is { } eta ? "about " + StatusText.Duration(eta) : "unknown (residual not falling)");
        Figure(sb, "total", "Total iterations", StatusText.Count(s.TotalIterations));
        Figure(sb, "restarts", "Restarts", StatusText.Count(s.Restarts));
        sb.Append("</dl>\n");
        if (!s.Finished && !string.IsNullOrEmpty(s.Warning))
        {
            sb.Append("<p id=\"warning\" role=\"alert\">").Append(E(s.Warning)).Append("</p>\n");
        }

        if (!s.Finished && !string.IsNullOrEmpty(s.Stall))
        {
            sb.Append("<p id=\"stall\" role=\"alert\">").Append(E(s.Stall)).Append("</p>\n");
        }

        if (!s.Finished && s.Pause is { } pause)
        {
            sb.Append("<p id=\"paused\" role=\"status\">").Append(E(StatusText.Paused(pause))).Append("</p>\n");
        }

        if (!string.IsNullOrEmpty(s.LastCheckpoint))
        {
            sb.Append("<p id=\"checkpoint\">Last checkpoint: ").Append(E(s.LastCheckpoint)).Append("</p>\n");
        }

        sb.Append("</section>\n");
    }

    private static void Figure(StringBuilder sb, string id, string label, string value) =>
        sb.Append("<div><dt>").Append(label).Append("</dt><dd id=\"").Append(id).Append("\">").Append(E(value)).Append("</dd></div>\n");

    private static void AppendPlot(StringBuilder sb, StatusSnapshot s)
    {
        sb.Append("<section aria-label=\"residual history\">\n<h2>Residual history</h2>\n");
        ResidualPlot.Render(sb, s.History, s.Tolerance);
        sb.Append("</section>\n");
    }

    private static void AppendControls(StringBuilder sb, StatusSnapshot s)
    {
        var disabled = s.Finished ? " disabled" : string.Empty;
        sb.Append("<section id=\"controls\" aria-label=\"controls\">\n<h2>Steer the job</h2>\n");
        if (s.Finished)
        {
            sb.Append("<p class=\"notice\" id=\"ended\">The job has ended: commands can no longer be sent.</p>\n");
        }

        sb.Append("<p id=\"notify-missing\" class=\"notice\" hidden>These controls cannot reach the job: <code>notify_running_job</code> is not defined because this page was not opened through the portal (for example from disk). ")
            .Append("Open it through the SemWES portal or <code>convergence portal</code>, or append the command to <code>notifications.txt</code>.</p>\n");
        if (!s.Finished)
        {
            // Visible until the page's script hides it: a viewer that runs no script must not get silent buttons.
            sb.Append("<p id=\"script-off\" class=\"notice\">The controls are inactive: the page's script has not run (JavaScript is off, or the page was shown without its script).</p>\n");
        }

        sb.Append("<div class=\"controls\">\n");
        foreach (var (message, label, help) in BuiltInControls)
        {
            sb.Append("<button type=\"button\" data-control").Append(disabled)
                .Append(" data-message=\"").Append(E(message)).Append("\" title=\"").Append(E(help)).Append('"')
                .Append(message == "ABORT" ? " class=\"danger\"" : string.Empty)
                .Append('>').Append(E(label)).Append("</button>\n");
        }

        sb.Append("</div>\n");

        sb.Append("<form class=\"control-form\" id=\"tolerance-form\" data-message=\"CHANGE_TOLERANCE\" data-kind=\"tolerance\" novalidate>\n");
        sb.Append("<label for=\"tolerance-input\">New tolerance</label>\n");
        sb.Append("<input id=\"tolerance-input\" name=\"value\" data-key=\"tolerance\" data-control inputmode=\"decimal\" autocomplete=\"off\" placeholder=\"e.g. 1e-8\"")
            .Append(disabled).Append(">\n");
        sb.Append("<button type=\"submit\" data-control").Append(disabled).Append(">Change tolerance</button>\n");
        sb.Append("<span class=\"error\" role=\"alert\"></span>\n</form>\n");

        for (var i = 0; i < s.CustomCommands.Count; i++)
        {
            var c = s.CustomCommands[i];
            var inputId = string.Create(CultureInfo.InvariantCulture, $"custom-input-{i}");
            var kind = c.Argument?.Kind switch
            {
                ArgumentKind.Number => "number",
                ArgumentKind.WholeNumber => "whole-number",
                ArgumentKind.Choice => "choice",
                _ => "custom",
            };
            sb.Append("<form class=\"control-form custom\" data-message=\"").Append(E(c.Name)).Append("\" data-kind=\"").Append(kind).Append('"');
            if (c.Argument is { } argument)
            {
                sb.Append(" data-expected=\"").Append(E(argument.Expected)).Append('"');
            }

            sb.Append(" novalidate>\n");
            sb.Append("<label for=\"").Append(inputId).Append("\">").Append(E(c.Name)).Append("</label>\n");
            AppendArgumentField(sb, c, inputId, disabled);
            sb.Append("<button type=\"submit\" data-control").Append(disabled).Append(">Send ").Append(E(c.Name)).Append("</button>\n");
            sb.Append("<span class=\"error\" role=\"alert\"></span>\n");
            sb.Append("<span class=\"usage\">Usage: <code>").Append(E(c.Usage)).Append("</code>");
            if (!string.IsNullOrEmpty(c.Description))
            {
                sb.Append(" — ").Append(E(c.Description));
            }

            sb.Append("</span>\n</form>\n");
        }

        sb.Append("<ul id=\"feedback\" aria-live=\"polite\"></ul>\n</section>\n");
    }

    /// <summary>
    /// The field for a custom command's argument: free text; a number field whose min, max and step come from the
    /// declared range (the page's script also refuses an open bound itself, and rank 0 checks again); or a list.
    /// </summary>
    private static void AppendArgumentField(StringBuilder sb, CustomCommand c, string inputId, string disabled)
    {
        var common = $"id=\"{inputId}\" name=\"value\" data-key=\"custom:{E(c.Name)}\" data-control";
        switch (c.Argument)
        {
            case null:
                sb.Append("<input ").Append(common).Append(" autocomplete=\"off\" placeholder=\"arguments\"").Append(disabled).Append(">\n");
                return;
            case { Kind: ArgumentKind.Choice } choice:
                sb.Append("<select ").Append(common).Append(disabled).Append(">\n");
                foreach (var word in choice.Choices)
                {
                    sb.Append("<option value=\"").Append(E(word)).Append("\">").Append(E(word)).Append("</option>\n");
                }

                sb.Append("</select>\n");
                return;
            case { } number:
                sb.Append("<input ").Append(common).Append(" type=\"number\" autocomplete=\"off\"")
                    .Append(number.Kind == ArgumentKind.WholeNumber ? " step=\"1\" inputmode=\"numeric\"" : " step=\"any\" inputmode=\"decimal\"");
                if (number.Minimum is { } min)
                {
                    sb.Append(" min=\"").Append(CommandArgument.Format(min)).Append('"').Append(number.ExcludesMinimum ? " data-exclude-min" : string.Empty);
                }

                if (number.Maximum is { } max)
                {
                    sb.Append(" max=\"").Append(CommandArgument.Format(max)).Append('"').Append(number.ExcludesMaximum ? " data-exclude-max" : string.Empty);
                }

                sb.Append(" placeholder=\"").Append(E(number.Range.Length == 0 ? number.Expected : number.Range)).Append('"').Append(disabled).Append(">\n");
                return;
        }
    }

    private static void AppendScheduled(StringBuilder sb, IReadOnlyList<ScheduledCommand> scheduled, bool finished)
    {
        sb.Append("<section aria-label=\"scheduled\">\n<h2>Scheduled</h2>\n");
        if (scheduled.Count == 0)
        {
            sb.Append("<p id=\"scheduled-empty\" class=\"sub\">Nothing scheduled. Send <code>STOP at=ITERATION</code>, <code>STOP at=+2h</code>, <code>CHECKPOINT at=ITERATION</code> or <code>STOP after-checkpoints=N</code>; <code>CANCEL #id</code> withdraws one.</p>\n</section>\n");
            return;
        }

        sb.Append("<table id=\"scheduled\">\n<thead><tr><th>Id</th><th>Command</th><th>Fires</th><th>Scheduled (UTC)</th><th></th></tr></thead>\n<tbody>\n");
        foreach (var c in scheduled)
        {
            sb.Append("<tr data-id=\"").Append(E(c.ClientId)).Append("\"><td class=\"id\">#").Append(E(c.ClientId)).Append("</td>");
            sb.Append("<td class=\"text\">").Append(E(c.Text)).Append("</td>");
            sb.Append("<td class=\"when\">").Append(E(c.When)).Append("</td>");
            sb.Append("<td>").Append(E(c.ScheduledAt.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture))).Append("</td>");

            // The script appends the message's own #id: "CANCEL #s1 #k3x9" withdraws #s1.
            sb.Append("<td><button type=\"button\" class=\"cancel\" data-control").Append(finished ? " disabled" : string.Empty)
                .Append(" data-message=\"CANCEL #").Append(E(c.ClientId)).Append("\" title=\"withdraw this scheduled command\">Cancel</button></td></tr>\n");
        }

        sb.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void AppendChanges(StringBuilder sb, StatusSnapshot s)
    {
        if (s.ChangeCount == 0)
        {
            return;
        }

        sb.Append(CultureInfo.InvariantCulture, $"<section aria-label=\"changes\">\n<h2>Changes of settings ({s.ChangeCount})</h2>\n");
        foreach (var summary in s.ChangeSummaries)
        {
            sb.Append("<p class=\"sub change-summary\">").Append(E(Journal.ChangeRecord.Describe(summary))).Append("</p>\n");
        }

        sb.Append("<table id=\"changes\">\n<thead><tr><th>Setting</th><th>Old</th><th>New</th><th>Iteration</th><th>Total</th><th>At (UTC)</th><th>Id</th></tr></thead>\n<tbody>\n");

        // Newest first, as the journal.
        for (var i = s.Changes.Count - 1; i >= 0; i--)
        {
            var c = s.Changes[i];
            sb.Append("<tr><td class=\"setting\">").Append(E(c.Setting)).Append("</td>");
            sb.Append("<td class=\"old\">").Append(E(c.OldValue ?? "?")).Append("</td>");
            sb.Append("<td class=\"new\">").Append(E(c.NewValue)).Append("</td>");
            sb.Append(CultureInfo.InvariantCulture, $"<td>{c.Iteration}</td><td>{c.TotalIteration}</td>");
            sb.Append("<td>").Append(E(c.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))).Append("</td>");
            sb.Append("<td class=\"id\">").Append(c.ClientId is null ? "—" : "#" + E(c.ClientId)).Append("</td></tr>\n");
        }

        sb.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void AppendJournal(StringBuilder sb, IReadOnlyList<JournalEntry> journal)
    {
        sb.Append("<section aria-label=\"journal\">\n<h2>Commands received</h2>\n");
        if (journal.Count == 0)
        {
            sb.Append("<p id=\"journal-empty\" class=\"sub\">No messages yet.</p>\n");
        }

        sb.Append("<table id=\"journal\">\n<thead><tr><th>#</th><th>Received (UTC)</th><th>Message</th><th>Id</th><th>Status</th></tr></thead>\n<tbody>\n");

        // Newest first: what the user just sent is what they look for.
        for (var i = journal.Count - 1; i >= 0; i--)
        {
            var e = journal[i];
            var stateClass = e.State switch
            {
                JournalState.Applied => "applied",
                JournalState.Rejected => "rejected",
                _ => "received",
            };
            var outcome = StatusText.Outcome(e);
            sb.Append("<tr class=\"").Append(stateClass).Append("\" data-state=\"").Append(stateClass).Append('"');
            if (e.ClientId is not null)
            {
                sb.Append(" data-id=\"").Append(E(e.ClientId)).Append('"');
            }

            sb.Append(" data-outcome=\"").Append(E(outcome)).Append("\">");
            sb.Append(CultureInfo.InvariantCulture, $"<td>{e.Sequence}</td>");
            sb.Append("<td>").Append(E(e.ReceivedAt.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture))).Append("</td>");
            sb.Append("<td class=\"text\">").Append(E(e.Text)).Append("</td>");
            sb.Append("<td class=\"id\">").Append(e.ClientId is null ? "—" : "#" + E(e.ClientId)).Append("</td>");
            sb.Append("<td class=\"outcome\">").Append(E(outcome)).Append("</td></tr>\n");
        }

        sb.Append("</tbody>\n</table>\n</section>\n");
    }

    /// <summary>HTML-escapes text for element content and double-quoted attributes.</summary>
    private static string E(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);
}
