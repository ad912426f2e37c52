using EfficientML.Clustering;

namespace EfficientML.Interactive;

/// <summary>
/// Compression results as HTML: a table (method, bits, validation loss in nats and bits, size, ratio against float32,
/// storage per clustered weight), plus the fine-tuning's loss chart for one result, or the bits-vs-loss chart for several.
/// </summary>
static class CompressionResultHtml
{
    public static string Render(CompressionResult result) =>
        $"<div class=\"efml-compression\" style=\"{Html.BlockStyle}\">" +
        $"<div style=\"margin-bottom:4px\">{Headline(result)}</div>" +
        Table([result]) +
        (result.Run is { } run ? TrainingRunHtml.Render(run) : "") +
        "</div>";

    public static string Render(IEnumerable<CompressionResult> results)
    {
        var list = results.ToList();
        if (list.Count == 0) return $"<div style=\"{Html.BlockStyle}\">No compression results.</div>";
        return $"<div class=\"efml-compressions\" style=\"{Html.BlockStyle}\">" +
               Table(list) +
               ChartHtml.Fragment(ClusteringCharts.BitsVsLoss(list)) +
               "</div>";
    }

    /// <summary>"DKM fine-tuned, 3-bit · validation 2.1 bits per byte · 9.8× smaller than float32 (0.41 MB)"</summary>
    public static string Headline(CompressionResult r) =>
        $"<b>{Html.Encode(r.Method)}</b>{(r.Bits > 0 ? $", {r.Bits}-bit" : "")} · validation {Html.Number(Math.Round(r.ValidationBits, 4))} bits per byte · " +
        (r.Bits > 0 ? $"{Html.Number(Math.Round(r.CompressionRatio, 2))}× smaller than float32 ({Format.Bytes(r.ModelBytes)})" : Format.Bytes(r.ModelBytes));

    /// <summary>One row per result.</summary>
    public static string Table(IEnumerable<CompressionResult> results)
    {
        string Head(string text, bool number = true) => $"<th style=\"{(number ? Html.NumberCellStyle : Html.CellStyle)}\">{text}</th>";
        string Cell(string html) => $"<td style=\"{Html.NumberCellStyle}\">{html}</td>";
        var rows = results.Select(r =>
            $"<tr><td style=\"{Html.CellStyle}\">{Html.Encode(r.Method)}</td>" +
            Cell(r.Bits > 0 ? r.Bits.ToString(Html.Invariant) : "32 (float)") +
            Cell(Html.Number(Math.Round(r.ValidationLoss, 4))) +
            Cell(Html.Number(Math.Round(r.ValidationBits, 4))) +
            Cell($"<span title=\"{Html.Count(r.ModelBytes)} bytes\">{Format.Bytes(r.ModelBytes)}</span>") +
            Cell(Html.Number(Math.Round(r.CompressionRatio, 2)) + "×") +
            Cell(r.Bits > 0 ? Html.Number(Math.Round(r.ClusteredBitsPerWeight, 3)) : "32") +
            "</tr>");
        return $"<table class=\"efml-compression-table\" style=\"{Html.TableStyle};margin-top:4px\">" +
               "<tr>" + Head("method", number: false) + Head("bits") + Head("validation loss (nats per token)") + Head("(bits per byte)") +
               Head("size") + Head("smaller than float32") + Head("bits per clustered weight (tables included)") + "</tr>" +
               string.Concat(rows) + "</table>";
    }
}
