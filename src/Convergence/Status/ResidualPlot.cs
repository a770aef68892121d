using System.Globalization;
using System.Text;

namespace Convergence.Status;

/// <summary>
/// Draws the residual history as inline SVG: log-scale residual against the iteration over the whole run,
/// one polyline per (re)start, restarts and the tolerance marked. No script, no external resource.
/// </summary>
internal static class ResidualPlot
{
    /// <summary>At most this many points go into the SVG; <see cref="ResidualHistory"/> already bounds the input.</summary>
    public const int MaxPlotPoints = 800;

    private const double Width = 720;
    private const double Height = 280;
    private const double Left = 64;
    private const double Right = 16;
    private const double Top = 14;
    private const double Bottom = 40;
    private const double PlotWidth = Width - Left - Right;
    private const double PlotHeight = Height - Top - Bottom;

    /// <summary>Appends the <c>&lt;svg&gt;</c> element for <paramref name="history"/> to <paramref name="sb"/>.</summary>
    public static void Render(StringBuilder sb, IReadOnlyList<ResidualPoint> history, double tolerance)
    {
        var points = Usable(history);
        sb.Append(CultureInfo.InvariantCulture,
            $"<svg id=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-labelledby=\"plot-title\">\n");
        sb.Append("<title id=\"plot-title\">Residual history (log scale)</title>\n");
        if (points.Count == 0)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{Width / 2}\" y=\"{Height / 2}\" text-anchor=\"middle\" class=\"empty\">no residual yet</text>\n</svg>\n");
            return;
        }

        var xMin = (double)points[0].TotalIteration;
        var xMax = (double)points[^1].TotalIteration;
        if (xMax <= xMin)
        {
            xMax = xMin + 1;
        }

        var lowest = points.Min(p => p.Residual);
        var highest = points.Max(p => p.Residual);
        var showTolerance = tolerance > 0 && double.IsFinite(tolerance);
        if (showTolerance)
        {
            lowest = Math.Min(lowest, tolerance);
            highest = Math.Max(highest, tolerance);
        }

        var yLow = Math.Floor(Math.Log10(lowest));
        var yHigh = Math.Ceiling(Math.Log10(highest));
        if (yHigh <= yLow)
        {
            yHigh = yLow + 1;
        }

        double X(double iteration) => Left + ((iteration - xMin) / (xMax - xMin) * PlotWidth);
        double Y(double residual) => Top + ((yHigh - Math.Log10(residual)) / (yHigh - yLow) * PlotHeight);

        AppendAxes(sb, xMin, xMax, yLow, yHigh, X);

        if (showTolerance)
        {
            var y = Y(tolerance);
            sb.Append(CultureInfo.InvariantCulture,
                $"<line class=\"tolerance\" x1=\"{Left:0.#}\" y1=\"{y:0.#}\" x2=\"{Left + PlotWidth:0.#}\" y2=\"{y:0.#}\"/>\n");
            sb.Append(CultureInfo.InvariantCulture,
                $"<text class=\"tolerance-label\" x=\"{Left + PlotWidth - 4:0.#}\" y=\"{y - 4:0.#}\" text-anchor=\"end\">tolerance {StatusText.Scientific(tolerance)}</text>\n");
        }

        // One polyline per (re)start, so the jump back up after a restart is not drawn as progress.
        var segment = new StringBuilder();
        var restarts = 0;
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (p.Restart && segment.Length > 0)
            {
                AppendSegment(sb, segment);
            }

            if (p.Restart)
            {
                restarts++;
                var x = X(p.TotalIteration);
                sb.Append(CultureInfo.InvariantCulture,
                    $"<line class=\"restart\" x1=\"{x:0.#}\" y1=\"{Top:0.#}\" x2=\"{x:0.#}\" y2=\"{Top + PlotHeight:0.#}\"><title>restart at iteration {p.TotalIteration}</title></line>\n");
                sb.Append(CultureInfo.InvariantCulture,
                    $"<text class=\"restart-label\" x=\"{x + 3:0.#}\" y=\"{Top + 10:0.#}\">restart</text>\n");
            }

            segment.Append(CultureInfo.InvariantCulture, $"{X(p.TotalIteration):0.#},{Y(p.Residual):0.#} ");
        }

        AppendSegment(sb, segment);
        var last = points[^1];
        sb.Append(CultureInfo.InvariantCulture,
            $"<circle class=\"last\" cx=\"{X(last.TotalIteration):0.#}\" cy=\"{Y(last.Residual):0.#}\" r=\"3\"><title>iteration {last.TotalIteration}: {StatusText.Scientific(last.Residual)}</title></circle>\n");
        sb.Append("</svg>\n");
    }

    /// <summary>The points that can be drawn on a log scale, thinned to <see cref="MaxPlotPoints"/> (restarts and the last point kept).</summary>
    internal static List<ResidualPoint> Usable(IReadOnlyList<ResidualPoint> history)
    {
        var usable = new List<ResidualPoint>(Math.Min(history.Count, MaxPlotPoints * 2));
        var pendingRestart = false;
        foreach (var p in history)
        {
            if (p.Residual > 0 && double.IsFinite(p.Residual))
            {
                usable.Add(pendingRestart ? p with { Restart = true } : p);
                pendingRestart = false;
            }
            else
            {
                // A restart on a point we cannot draw still has to be marked on the next one.
                pendingRestart |= p.Restart;
            }
        }

        if (usable.Count <= MaxPlotPoints)
        {
            return usable;
        }

        var stride = (int)Math.Ceiling(usable.Count / (double)MaxPlotPoints);
        var thinned = new List<ResidualPoint>(MaxPlotPoints + 64);
        for (var i = 0; i < usable.Count; i++)
        {
            if (i % stride == 0 || usable[i].Restart || i == usable.Count - 1)
            {
                thinned.Add(usable[i]);
            }
        }

        return thinned;
    }

    private static void AppendSegment(StringBuilder sb, StringBuilder segment)
    {
        if (segment.Length == 0)
        {
            return;
        }

        sb.Append("<polyline class=\"residual\" points=\"").Append(segment.ToString().TrimEnd()).Append("\"/>\n");
        segment.Clear();
    }

    private static void AppendAxes(StringBuilder sb, double xMin, double xMax, double yLow, double yHigh, Func<double, double> x)
    {
        sb.Append(CultureInfo.InvariantCulture,
            $"<rect class=\"frame\" x=\"{Left:0.#}\" y=\"{Top:0.#}\" width=\"{PlotWidth:0.#}\" height=\"{PlotHeight:0.#}\"/>\n");

        // A label every decade, or every few decades when the range is wide, so the labels never overlap.
        var decades = (int)(yHigh - yLow);
        var step = Math.Max(1, (int)Math.Ceiling(decades / 8.0));
        for (var e = (int)yHigh; e >= (int)yLow; e -= step)
        {
            var y = Top + ((yHigh - e) / (yHigh - yLow) * PlotHeight);
            sb.Append(CultureInfo.InvariantCulture,
                $"<line class=\"grid\" x1=\"{Left:0.#}\" y1=\"{y:0.#}\" x2=\"{Left + PlotWidth:0.#}\" y2=\"{y:0.#}\"/>\n");
            sb.Append(CultureInfo.InvariantCulture,
                $"<text class=\"tick\" x=\"{Left - 6:0.#}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">1e{e}</text>\n");
        }

        for (var i = 0; i <= 4; i++)
        {
            var iteration = Math.Round(xMin + ((xMax - xMin) * i / 4));
            var px = x(iteration);
            sb.Append(CultureInfo.InvariantCulture,
                $"<text class=\"tick\" x=\"{px:0.#}\" y=\"{Top + PlotHeight + 16:0.#}\" text-anchor=\"middle\">{StatusText.Count((long)iteration)}</text>\n");
        }

        sb.Append(CultureInfo.InvariantCulture,
            $"<text class=\"axis\" x=\"{Left + (PlotWidth / 2):0.#}\" y=\"{Height - 4:0.#}\" text-anchor=\"middle\">iteration (whole run)</text>\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"<text class=\"axis\" transform=\"translate(14 {Top + (PlotHeight / 2):0.#}) rotate(-90)\" text-anchor=\"middle\">residual (log)</text>\n");
    }
}
