namespace EfficientML.Interactive;

/// <summary>
/// Layout pieces Plotly.NET has no typed builder for in the shape the charts need, written once: reference lines across
/// the plot and text labels placed in data or paper coordinates (plotly.js layout "shapes" and "annotations").
/// </summary>
public static class PlotlyShapes
{
    /// <summary>A horizontal line at <paramref name="y"/> across the whole width.</summary>
    public static Dictionary<string, object> HorizontalLine(double y, string color, string dash = "dash", double width = 1.5, string yref = "y") => new()
    {
        ["type"] = "line", ["xref"] = "paper", ["x0"] = 0, ["x1"] = 1, ["yref"] = yref, ["y0"] = y, ["y1"] = y,
        ["line"] = new Dictionary<string, object> { ["color"] = color, ["width"] = width, ["dash"] = dash },
    };

    /// <summary>A vertical line at <paramref name="x"/> across the whole height.</summary>
    public static Dictionary<string, object> VerticalLine(double x, string color, string dash = "dot", double width = 1.5, string xref = "x") => new()
    {
        ["type"] = "line", ["xref"] = xref, ["x0"] = x, ["x1"] = x, ["yref"] = "paper", ["y0"] = 0, ["y1"] = 1,
        ["line"] = new Dictionary<string, object> { ["color"] = color, ["width"] = width, ["dash"] = dash },
    };

    /// <summary>A text label without an arrow at (x, y) in the given coordinate systems ("x"/"y" for data, "paper" for 0..1).</summary>
    public static Dictionary<string, object> Label(string xref, double x, string yref, double y, string text,
        string xanchor = "left", string yanchor = "bottom", string color = "#333", int size = 12) => new()
    {
        ["xref"] = xref, ["x"] = x, ["yref"] = yref, ["y"] = y, ["text"] = text, ["showarrow"] = false,
        ["xanchor"] = xanchor, ["yanchor"] = yanchor, ["font"] = new Dictionary<string, object> { ["size"] = size, ["color"] = color },
    };
}
