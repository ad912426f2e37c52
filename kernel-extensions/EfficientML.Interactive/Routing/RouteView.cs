using System.Text.Encodings.Web;
using EfficientML.Core;
using Microsoft.AspNetCore.Html;

namespace EfficientML.Interactive;

/// <summary>
/// The live output of <c>#!route</c>, redrawn in place: the fine-tuning runs (the routers', then the elastic baseline's)
/// with their loss curves, and one line saying what is being measured (the routers' fit, each θ of the sweep …). The magic
/// replaces it with the <see cref="EfficientML.Routing.RoutingStudy"/> when everything is measured.
/// </summary>
sealed class RouteView(IReadOnlyList<TrainingRun> runs, string title) : IHtmlContent
{
    volatile string _stage = "";

    /// <summary>What the magic is doing now ("" when nothing but training).</summary>
    public string Stage
    {
        get => _stage;
        set => _stage = value ?? "";
    }

    public void WriteTo(TextWriter writer, HtmlEncoder encoder)
    {
        var stage = Stage;
        writer.Write($"<div class=\"efml-route-live\" style=\"{Html.BlockStyle}\">");
        if (stage.Length > 0) writer.Write($"<div class=\"efml-route-stage\" style=\"margin-bottom:4px;color:#555\">⏳ {Html.Encode(stage)}</div>");
        writer.Write(TrainingRunHtml.Render(runs, title));
        writer.Write("</div>");
    }
}
