using System.Text.Encodings.Web;
using EfficientML.Core;
using Microsoft.AspNetCore.Html;

namespace EfficientML.Interactive;

/// <summary>
/// The live output of <c>#!pipeline</c> above its measurements, redrawn in place: one line saying what the pipeline is
/// doing (from its stage callback) and the loss chart of the step's training run, when the step trains.
/// </summary>
sealed class PipelineView(string title) : IHtmlContent
{
    volatile string _stage = "";
    volatile TrainingRun? _run;

    /// <summary>What the pipeline is doing now ("" when nothing is said).</summary>
    public string Stage
    {
        get => _stage;
        set => _stage = value ?? "";
    }

    /// <summary>The training run of the step in flight (the last one seen).</summary>
    public TrainingRun? Run
    {
        get => _run;
        set => _run = value;
    }

    public void WriteTo(TextWriter writer, HtmlEncoder encoder)
    {
        var (stage, run) = (Stage, Run);
        writer.Write($"<div class=\"efml-pipeline-live\" style=\"{Html.BlockStyle}\">");
        writer.Write($"<div style=\"margin-bottom:2px\"><b>{Html.Encode(title)}</b></div>");
        if (stage.Length > 0) writer.Write($"<div class=\"efml-pipeline-stage\" style=\"margin-bottom:4px;color:#555\">⏳ {Html.Encode(stage)}</div>");
        if (run is not null) writer.Write(TrainingRunHtml.Render(run));
        writer.Write("</div>");
    }
}
