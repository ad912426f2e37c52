using Plotly.NET;
using Plotly.NET.CSharp;

namespace EfficientML.Interactive;

/// <summary>
/// The look every chart of the project shares: plotly.js defaults without Plotly.NET's template (which adds
/// ~8 KB to every chart, and live charts resend the whole chart on each update), a fixed height, tight margins.
/// </summary>
public static class ChartStyle
{
    /// <summary>Pixels at the top of a chart where plotly's tool bar appears while the pointer is over it.</summary>
    public const int ToolBarHeight = 30;

    /// <summary>Height of a chart in pixels unless a builder is told otherwise.</summary>
    public const int DefaultHeight = 380;

    /// <summary>Line colours, one per series (plotly's default cycle).</summary>
    public static IReadOnlyList<string> Palette { get; } =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>The colour of series <paramref name="index"/>.</summary>
    public static Color ColorAt(int index) => Color.fromString(Palette[index % Palette.Count]);

    /// <summary>Sets title, axis titles, height, margins and a legend under the plot (the tool bar appears top right on hover).</summary>
    public static GenericChart Apply(GenericChart chart, string? title, string? xTitle, string? yTitle, int height = DefaultHeight)
    {
        if (xTitle != null) chart = chart.WithXAxisStyle<double, double, string>(TitleText: xTitle);
        if (yTitle != null) chart = chart.WithYAxisStyle<double, double, string>(TitleText: yTitle);
        var layout = GenericChart.getLayout(chart);
        // The title sits under the band where plotly's tool bar appears, so the tool bar never covers it.
        if (title != null)
            layout.SetProperty("title", new Dictionary<string, object>
            {
                ["text"] = string.Join("<br>", TitleLines(title)), ["x"] = 0.02, ["xanchor"] = "left", ["yref"] = "container", ["y"] = 1, ["yanchor"] = "top",
                ["pad"] = new Dictionary<string, object> { ["t"] = ToolBarHeight }, ["font"] = new Dictionary<string, object> { ["size"] = 15 },
            });
        layout.SetProperty("height", height);
        layout.SetProperty("autosize", true);
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = 60, ["r"] = 20, ["t"] = TopMargin(title), ["b"] = 80 });
        layout.SetProperty("legend", new Dictionary<string, object> { ["orientation"] = "h", ["y"] = -0.22, ["yanchor"] = "top", ["x"] = 0, ["xanchor"] = "left" });
        layout.SetProperty("font", new Dictionary<string, object> { ["family"] = "system-ui, -apple-system, 'Segoe UI', sans-serif", ["size"] = 12 });
        return chart;
    }

    /// <summary>Characters of a title line; longer titles wrap at a space (plotly draws a title on one line and cuts it off).</summary>
    public const int TitleLineLength = 90;

    /// <summary>The title in lines of at most <see cref="TitleLineLength"/> characters, broken at spaces (a longer word stays whole).</summary>
    public static IReadOnlyList<string> TitleLines(string title)
    {
        var lines = new List<string>();
        var line = new System.Text.StringBuilder();
        foreach (var word in title.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > TitleLineLength)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        lines.Add(line.ToString());
        return lines;
    }

    /// <summary>Top margin for <paramref name="title"/>: the tool bar's band, then one 19-pixel line per title line.</summary>
    public static int TopMargin(string? title) => title == null ? ToolBarHeight : ToolBarHeight + 32 + 19 * (TitleLines(title).Count - 1);

    /// <summary>Height in pixels the chart's layout asks for (<see cref="DefaultHeight"/> when it does not say).</summary>
    public static int HeightOf(GenericChart chart)
    {
        var value = GenericChart.getLayout(chart).TryGetPropertyValue("height");
        return value != null && value.Value is IConvertible c ? Convert.ToInt32(c, System.Globalization.CultureInfo.InvariantCulture) : DefaultHeight;
    }
}
