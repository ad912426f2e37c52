using EfficientML.Cloning;

namespace EfficientML.Interactive;

/// <summary>
/// Subcloning's report as HTML: sizes and parameters before → after, the kept blocks, the losses (source, subclone before
/// training, random init of the same size) in nats and bits, then the importance curve, the block diagram and the
/// per-layer agreement.
/// </summary>
static class SubcloneReportHtml
{
    public static string Render(SubcloneReport r)
    {
        var (s, t) = (r.Source, r.Target);
        double share = r.ParametersAfter / (double)r.ParametersBefore;
        var sizes = Html.KeyValueTable(new (string, string)[]
        {
            ("width (d)", $"{s.Dim} → {t.Dim} (the same {r.KeptDims.Length} residual dimensions in every layer)"),
            ("heads", $"{s.Heads} → {t.Heads}, each {t.HeadDim} wide" + (s.KvHeads != s.Heads ? $" (key/value {s.KvHeads} → {t.KvHeads})" : "")),
            ("MLP width", $"{s.MlpDim} → {t.MlpDim}"),
            ("layers", $"{s.Layers} → {t.Layers}"),
            ("kept blocks", string.Join(", ", r.KeptLayers)),
            ("parameters", $"{Html.Count(r.ParametersBefore)} → {Html.Count(r.ParametersAfter)} ({Html.Number(Math.Round(100 * share, 1))}%)"),
            ("input rescaling", r.Rescaled ? "on: weights whose input shrank are scaled by √(d_in / d_in′)" : "off"),
        });
        string LossRow(string name, double nats, bool bold = false) =>
            $"<tr><td style=\"{Html.CellStyle}{(bold ? ";font-weight:600" : "")}\">{Html.Encode(name)}</td>" +
            $"<td style=\"{Html.NumberCellStyle}\">{Html.Number(Math.Round(nats, 4))}</td>" +
            $"<td style=\"{Html.NumberCellStyle}\">{Html.Number(Math.Round(nats / Math.Log(2), 4))}</td></tr>";
        var losses =
            $"<table class=\"efml-subclone-losses\" style=\"{Html.TableStyle};margin-top:8px\">" +
            $"<tr><th style=\"{Html.CellStyle}\">next-token loss on held-out text</th><th style=\"{Html.NumberCellStyle}\">nats per token</th><th style=\"{Html.NumberCellStyle}\">bits per token</th></tr>" +
            LossRow("source model", r.SourceLoss) +
            LossRow("subclone, before training", r.LossBeforeTraining, bold: true) +
            LossRow("random init of the same size", r.RandomInitLoss) +
            "</table>";
        return $"<div class=\"efml-subclone-report\" style=\"{Html.BlockStyle}\">" +
               $"<div style=\"margin-bottom:6px\"><b>Subcloning</b> · {Html.Count(r.ParametersBefore)} → {Html.Count(r.ParametersAfter)} parameters · " +
               $"loss before training {Html.Number(Math.Round(r.LossBeforeTraining, 3))} nats (random init {Html.Number(Math.Round(r.RandomInitLoss, 3))})</div>" +
               sizes + losses +
               ChartHtml.Fragment(CloningCharts.ImportanceCurve(r)) +
               ChartHtml.Fragment(CloningCharts.LayerDiagram(r)) +
               ChartHtml.Fragment(CloningCharts.LayerAgreement(r)) +
               "</div>";
    }
}
