using EfficientML.Clustering;
using static TorchSharp.torch;

namespace EfficientML.Interactive;

/// <summary>
/// A palettised weight as a table: shape, k, tables, packed size and bits per weight, then one row per centroid with its
/// value (in the first few tables) and how many weights point at it.
/// </summary>
static class PaletteHtml
{
    /// <summary>Tables whose values get a column of their own.</summary>
    public const int TablesShown = 4;

    /// <summary>Centroid rows shown (k is at most 256).</summary>
    public const int CentroidsShown = 64;

    public static string Render(Palette p)
    {
        int k = 1 << p.Bits;
        long tables = p.Table.shape[0];
        float[] values;
        long[] counts = new long[k];
        using (NewDisposeScope())
        using (no_grad())
        {
            values = p.Table.detach().to(CPU).to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
            foreach (var index in p.Indices.detach().to(CPU).to_type(ScalarType.Byte).contiguous().data<byte>()) counts[Math.Min(index, k - 1)]++;
        }
        long tableBytes = p.Table.numel() * 4, indexBytes = p.PackedBytes - tableBytes;
        var grouping = p.GroupSize is int g ? $"{tables} (one per {g} output channels)" : "1 (one for the whole tensor)";
        var summary = Html.KeyValueTable(
        [
            ("shape", Html.Shape(p.Indices.shape) + $" = {Html.Count(p.Count)} weights"),
            ("bits per index", $"{p.Bits} (k = {k} centroids per table)"),
            ("tables", grouping),
            ("packed size", $"{Html.Count(p.PackedBytes)} B: indices {Html.Count(indexBytes)} B at {p.Bits} bits + tables {Html.Count(tableBytes)} B float32"),
            ("bits per weight", $"{Html.Number(Math.Round(p.BitsPerWeight, 3))} (tables included) vs 32 in float32: " +
                                $"{Html.Number(Math.Round(32 / p.BitsPerWeight, 2))}× smaller"),
        ]);
        int shownTables = (int)Math.Min(tables, TablesShown);
        string Th(string text) => $"<th style=\"{Html.NumberCellStyle}\">{text}</th>";
        string Td(string text) => $"<td style=\"{Html.NumberCellStyle}\">{text}</td>";
        var header = "<tr>" + Th("centroid") +
                     string.Concat(Enumerable.Range(0, shownTables).Select(t => Th(tables == 1 ? "value" : $"table {t}"))) +
                     (tables > shownTables ? Th($"… {tables - shownTables} more tables") : "") +
                     Th("weights using it") + Th("share") + "</tr>";
        var rows = Enumerable.Range(0, Math.Min(k, CentroidsShown)).Select(j =>
        {
            double share = counts[j] / (double)Math.Max(1, p.Count);
            var bar = $"<div style=\"display:inline-block;height:9px;width:{Math.Round(share * 120, 1).ToString(Html.Invariant)}px;background:#1f77b4\"></div>";
            return "<tr>" + Td(j.ToString(Html.Invariant)) +
                   string.Concat(Enumerable.Range(0, shownTables).Select(t => Td(Html.Number(values[t * k + j])))) +
                   (tables > shownTables ? Td("") : "") +
                   Td(Html.Count(counts[j])) + $"<td style=\"{Html.CellStyle}\">{bar} {Html.Number(Math.Round(100 * share, 1))}%</td></tr>";
        });
        var more = k > CentroidsShown ? $"<div>… and {k - CentroidsShown} more centroids</div>" : "";
        return $"<div class=\"efml-palette\" style=\"{Html.BlockStyle}\">" +
               $"<div style=\"margin-bottom:4px\"><b>Palettised weight</b> · {Html.Shape(p.Indices.shape)} · {p.Bits}-bit, k = {k} · " +
               $"{Html.Number(Math.Round(p.BitsPerWeight, 3))} bits per weight</div>" +
               summary +
               $"<table class=\"efml-palette-table\" style=\"{Html.TableStyle};margin-top:6px\">{header}{string.Concat(rows)}</table>{more}" +
               "</div>";
    }
}
