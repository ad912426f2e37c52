using Plotly.NET;

namespace EfficientML.Interactive;

/// <summary>
/// Small steps the routing and speculative-decoding charts repeat on a built chart: hover text per point, merging
/// properties into an axis, and a frame (height, margins, the legend a fixed distance under the plot).
/// </summary>
static class PlotParts
{
    /// <summary>Every trace of <paramref name="chart"/> shows <paramref name="texts"/> (one per point, in order) on hover, and nothing else.</summary>
    public static GenericChart Hover(GenericChart chart, IEnumerable<string> texts)
    {
        var array = texts.ToArray();
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("hovertext", array);
            trace.SetProperty("hoverinfo", "text");
        }
        return chart;
    }

    /// <summary>Sets <paramref name="properties"/> on every trace of <paramref name="chart"/>.</summary>
    public static GenericChart Traces(GenericChart chart, params (string Key, object Value)[] properties)
    {
        foreach (var trace in GenericChart.getTraces(chart))
            foreach (var (key, value) in properties) trace.SetProperty(key, value);
        return chart;
    }

    /// <summary>Merges <paramref name="properties"/> into the layout's axis <paramref name="name"/> ("xaxis", "yaxis2" …), creating it when absent.</summary>
    public static void Axis(GenericChart chart, string name, params (string Key, object Value)[] properties)
    {
        var layout = GenericChart.getLayout(chart);
        DynamicObj.DynamicObj axis;
        if (layout.TryGetPropertyValue(name) is { } existing && existing.Value is DynamicObj.DynamicObj found) axis = found;
        else
        {
            axis = new DynamicObj.DynamicObj();
            layout.SetProperty(name, axis);
        }
        foreach (var (key, value) in properties) axis.SetProperty(key, value);
    }

    /// <summary>An axis title as plotly wants it.</summary>
    public static Dictionary<string, object> Title(string text) => new() { ["text"] = text };

    /// <summary>
    /// Height and margins in pixels, the title under the band where plotly's tool bar appears (so a long title is never
    /// covered), and the legend <paramref name="legendGap"/> pixels under the plot area (below the x axis' tick labels and
    /// title) in its order of traces, whatever the chart's height.
    /// </summary>
    public static void Frame(GenericChart chart, int height, int left = 60, int right = 20, int top = 62, int bottom = 80, int legendGap = 50)
    {
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("height", height);
        var heading = layout.TryGetPropertyValue("title");
        var title = heading?.Value as Dictionary<string, object>;
        // A title ChartStyle wrapped onto more lines takes 19 pixels more per line.
        if (title?.GetValueOrDefault("text") is string text) top += 19 * (text.Split("<br>").Length - 1);
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = left, ["r"] = right, ["t"] = top, ["b"] = bottom });
        if (title is not null)
        {
            title["yref"] = "container";
            title["y"] = 1;
            title["yanchor"] = "top";
            title["pad"] = new Dictionary<string, object> { ["t"] = ToolBarHeight };
        }
        if (layout.TryGetPropertyValue("legend") is { } legend && legend.Value is Dictionary<string, object> settings)
        {
            settings["y"] = -legendGap / (double)Math.Max(1, height - top - bottom);
            settings["traceorder"] = "normal";                                                   // stacked bars too: smallest first, as drawn left to right
        }
    }

    const int ToolBarHeight = ChartStyle.ToolBarHeight;
}
