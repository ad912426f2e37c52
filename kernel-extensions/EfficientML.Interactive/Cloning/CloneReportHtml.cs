using EfficientML.Cloning;
using EfficientML.Models;

namespace EfficientML.Interactive;

/// <summary>
/// HyperCloning's report as HTML: the sizes before → after, the logit check with a clear ✓/✗ "same function" line, and
/// the per-layer check as a chart.
/// </summary>
static class CloneReportHtml
{
    public static string Render(CloneReport r)
    {
        var (s, t) = (r.Source, r.Target);
        var verdict = r.PreservesFunction
            ? $"<span style=\"color:#1b7f2a;font-weight:600\">✓ same function</span>: max |Δlogit| {Html.Number(r.MaxLogitDifference)} ≤ 1e-4"
            : $"<span style=\"color:#b00020;font-weight:600\">✗ not the same function</span>: max |Δlogit| {Html.Number(r.MaxLogitDifference)} &gt; 1e-4";
        var rows = new List<(string, string)>
        {
            ("width factor", $"×{r.WidthFactor}"),
            ("width (d)", Arrow(s.Dim, t.Dim)),
            ("heads", Arrow(s.Heads, t.Heads) + $", each {t.HeadDim} wide" + (s.KvHeads != s.Heads ? $" (key/value {Arrow(s.KvHeads, t.KvHeads)})" : "")),
            ("MLP width", Arrow(s.MlpDim, t.MlpDim)),
            ("layers", $"{t.Layers} (unchanged)"),
            ("parameters", $"{Html.Count(r.ParametersBefore)} → {Html.Count(r.ParametersAfter)} (×{Html.Number(Math.Round(r.ParametersAfter / (double)r.ParametersBefore, 2))})"),
            ("symmetry breaking", r.NoiseSnrDb is double db ? $"zero-sum noise at {Html.Number(db)} dB SNR" : "none (exact copies)"),
            ("probe", $"{Html.Shape(r.ProbeShape)} tokens (batch × time)"),
            ("max |Δlogit|", Html.Number(r.MaxLogitDifference)),
            ("relative |Δlogit|", Html.Number(r.RelativeLogitDifference) + " (of max |logit|)"),
            ("same function", verdict),
        };
        return $"<div class=\"efml-clone-report\" style=\"{Html.BlockStyle}\">" +
               $"<div style=\"margin-bottom:6px\"><b>HyperCloning ×{r.WidthFactor}</b> · {verdict}</div>" +
               Html.KeyValueTable(rows) +
               ChartHtml.Fragment(CloningCharts.FunctionCheck(r)) +
               "</div>";
    }

    static string Arrow(int before, int after) => $"{before} → {after}";
}
