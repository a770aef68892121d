using System.Globalization;
using System.Net;
using System.Text;

namespace Convergence.Status;

/// <summary>Renders <c>status.html</c>: self-contained HTML5 with controls that call <c>notify_running_job</c>.</summary>
public static class StatusPage
{
    /// <summary>Renders the page for <paramref name="s"/>. Every text from outside is HTML-escaped.</summary>
    public static string Render(StatusSnapshot s)
    {
        var sb = new StringBuilder(8 * 1024);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        if (!s.Finished)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<meta http-equiv=\"refresh\" content=\"{s.RefreshSeconds}\">\n");
        }

        sb.Append("<title>").Append(E(s.JobName)).Append(" — ").Append(E(s.State.ToString())).Append("</title>\n</head>\n<body>\n");
        sb.Append("<h1>").Append(E(s.JobName)).Append("</h1>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<p id=\"state\">{E(s.State.ToString())}</p>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<p>iteration <span id=\"iteration\">{s.Iteration}</span>, residual <span id=\"residual\">{s.Residual:G4}</span>, tolerance <span id=\"tolerance\">{s.Tolerance:G4}</span></p>\n");
        if (s.Message is not null)
        {
            sb.Append("<p id=\"message\">").Append(E(s.Message)).Append("</p>\n");
        }

        sb.Append("<table id=\"journal\">\n");
        foreach (var entry in s.Journal)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{entry.Sequence}</td><td>{E(entry.Text)}</td><td>{E(entry.State.ToString())}</td><td>{entry.AppliedIteration}</td><td>{E(entry.Reason ?? string.Empty)}</td></tr>\n");
        }

        sb.Append("</table>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
