using System.Net;
using System.Text;
using Plotly.NET;

namespace EfficientML.Interactive;

/// <summary>
/// Turns charts into HTML that works offline: a fragment (a div and a script that draws into it with
/// <c>window.Plotly</c>), the plotly.js library itself as one inline script, and whole standalone pages.
/// No CDN anywhere: classrooms and build machines are often offline.
/// </summary>
public static class ChartHtml
{
    /// <summary>Version of the plotly.js that <see cref="PlotlyScript"/> embeds (the one Plotly.NET ships).</summary>
    public const string PlotlyVersion = "2.28.0";

    /// <summary>What a chart shows when plotly.js never appears on the page.</summary>
    public const string MissingLibraryHint = "Chart not drawn: run the first cell: it loads the chart library (plotly.js).";

    /// <summary>How long a fragment waits for plotly.js before it shows <see cref="MissingLibraryHint"/>.</summary>
    public const int WaitForLibraryMilliseconds = 10_000;

    const string ResourceName = "Plotly.NET.plotly-" + PlotlyVersion + ".min.js";
    static readonly Lazy<string> Script = new(BuildPlotlyScript);

    /// <summary>
    /// A div and a script that draws <paramref name="chart"/> into it once <c>window.Plotly</c> exists,
    /// polling briefly (outputs may render before the cell that loads the library), then showing a hint.
    /// Each call uses a fresh element id, so a re-rendered output never draws into a stale one.
    /// </summary>
    public static string Fragment(GenericChart chart)
    {
        var id = NewId("efml-chart");
        int height = ChartStyle.HeightOf(chart);
        var figure = FigureJson(chart);
        var hint = WebUtility.HtmlEncode(MissingLibraryHint);
        return $$"""
            <div id="{{id}}" class="efml-chart" style="width:100%;min-height:{{height}}px"></div>
            <script type="text/javascript">
            (function () {
              var figure = {{figure}};
              var config = {"responsive": true, "displaylogo": false, "displayModeBar": "hover"};
              var started = Date.now();
              function draw() {
                var element = document.getElementById("{{id}}");
                if (!element) return;
                if (window.Plotly && window.Plotly.newPlot) { window.Plotly.newPlot(element, figure.data, figure.layout, config); return; }
                if (Date.now() - started < {{WaitForLibraryMilliseconds}}) { setTimeout(draw, 100); return; }
                element.style.minHeight = "0";
                element.innerHTML = '<p style="color:#b00;font-family:sans-serif">{{hint}}</p>';
              }
              draw();
            })();
            </script>
            """;
    }

    /// <summary>
    /// A script tag holding the whole plotly.js (about 3.6 MB) that defines <c>window.Plotly</c>, also under
    /// require.js (classic Jupyter), and does nothing when plotly.js is already there.
    /// </summary>
    public static string PlotlyScript() => Script.Value;

    /// <summary>A standalone offline HTML page: plotly.js, then <paramref name="bodyFragments"/> in order.</summary>
    public static string Page(string title, IEnumerable<string> bodyFragments)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").Append(WebUtility.HtmlEncode(title)).Append("</title></head>\n<body style=\"font-family:sans-serif;margin:16px\">\n");
        html.Append(PlotlyScript()).Append('\n');
        foreach (var fragment in bodyFragments) html.Append(fragment).Append('\n');
        return html.Append("</body></html>\n").ToString();
    }

    /// <summary>A standalone offline HTML page showing <paramref name="charts"/>.</summary>
    public static string Page(string title, params GenericChart[] charts) => Page(title, charts.Select(Fragment));

    /// <summary>
    /// The chart's plotly figure (<c>{"data": […], "layout": {…}}</c>) as a JavaScript literal that is safe
    /// inside a script element: every '&lt;' is escaped, so no text can close the script early.
    /// </summary>
    public static string FigureJson(GenericChart chart) =>
        GenericChart.toFigureJson(chart).Replace("<", "\\u003c", StringComparison.Ordinal);

    /// <summary>An element id no other output on the page has (a counter and a random part, as outputs of several kernels can share a page).</summary>
    public static string NewId(string prefix) =>
        $"{prefix}-{Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..8]}";

    static long _nextId;

    static string BuildPlotlyScript()
    {
        using var stream = typeof(GenericChart).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Plotly.NET no longer embeds {ResourceName}; update {nameof(ChartHtml)}.{nameof(PlotlyVersion)} to the version it ships.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var library = reader.ReadToEnd().Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);
        // Parameters named define/module/exports hide require.js and CommonJS from plotly's UMD header,
        // so it always sets window.Plotly (classic Jupyter has require.js on the page).
        return "<script type=\"text/javascript\">\nif (!window.Plotly) { (function (define, module, exports) {\n" + library +
               "\n}).call(window); }\n</script>";
    }
}
