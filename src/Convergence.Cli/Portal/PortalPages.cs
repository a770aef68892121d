using System.Net;
using System.Text.RegularExpressions;

namespace Convergence.Cli.Portal;

/// <summary>What the portal adds to a status page, and the page it shows while there is none yet.</summary>
internal static partial class PortalPages
{
    /// <summary>The path the injected <c>notify_running_job</c> posts to.</summary>
    public const string NotifyPath = "/notify";

    /// <summary>
    /// A header the injected function sends. A page on another site cannot send it without a CORS
    /// pre-flight, which the portal never answers, so other sites open in the same browser cannot steer the job.
    /// </summary>
    public const string NotifyHeader = "X-Convergence-Notify";

    /// <summary>
    /// Put into <c>&lt;head&gt;</c> as the SemWES service does. Returns a promise that rejects with the
    /// server's one-line reason, and shows that reason in a banner, so pages that ignore the promise still
    /// tell the user.
    /// </summary>
    public const string InjectedScript = """
        <script>
        window.notify_running_job = function (message) {
          function banner(text) {
            var b = document.getElementById('portal-error');
            if (!b) {
              b = document.createElement('div');
              b.id = 'portal-error';
              b.setAttribute('role', 'alert');
              b.style.cssText = 'position:fixed;left:0;right:0;top:0;z-index:2147483647;padding:.6rem 1rem;background:#c0392b;color:#fff;font:14px system-ui,sans-serif';
              (document.body || document.documentElement).appendChild(b);
            }
            b.textContent = text;
          }
          var body = String(message);
          return fetch('/notify', {
            method: 'POST',
            headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Convergence-Notify': '1' },
            body: body,
            // A click just before the page reloads itself must still arrive (browsers cap keep-alive bodies at 64 KiB).
            keepalive: body.length < 16384
          }).then(function (response) {
            return response.text().then(function (text) {
              if (!response.ok) { throw new Error(text || ('HTTP ' + response.status)); }
              var old = document.getElementById('portal-error');
              if (old) { old.remove(); }
              return text;
            });
          }).catch(function (error) {
            var text = 'The portal did not pass the message on: ' + (error && error.message ? error.message : String(error));
            banner(text);
            throw new Error(text);
          });
        };
        </script>
        """;

    /// <summary>
    /// Inserts <see cref="InjectedScript"/> right after the opening <c>&lt;head&gt;</c> tag; returns the page
    /// unchanged (and false) when it has none: the SemWES service cannot inject into such a page either.
    /// </summary>
    public static string Inject(string page, out bool injected)
    {
        var head = HeadTag().Match(page);
        injected = head.Success;
        return head.Success ? page.Insert(head.Index + head.Length, "\n" + InjectedScript) : page;
    }

    /// <summary>The page shown while <c>status.html</c> does not exist yet; it reloads itself every second.</summary>
    public static string Waiting(string statusFile) => $$"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="refresh" content="1">
        <title>Waiting for the job</title>
        <style>body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem; color: #333; }</style>
        </head>
        <body>
        <h1>Waiting for the job</h1>
        <p id="waiting">There is no status page yet: <code>{{WebUtility.HtmlEncode(statusFile)}}</code> does not exist. Start the job with this service folder; this page reloads every second.</p>
        </body>
        </html>
        """;

    [GeneratedRegex("<head(?:\\s[^>]*)?>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HeadTag();
}
