using System.Globalization;
using System.Net;

namespace EfficientML.Interactive.Formatters;

/// <summary>Small helpers the formatters share: encoding, number formats, one table style.</summary>
static class Html
{
    public static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>1,650,000</summary>
    public static string Count(long n) => n.ToString("N0", Invariant);

    /// <summary>Four significant digits, no exponent for ordinary magnitudes.</summary>
    public static string Number(double x) =>
        double.IsNaN(x) ? "NaN" : double.IsInfinity(x) ? (x > 0 ? "∞" : "−∞") :
        x == 0 || (Math.Abs(x) >= 1e-3 && Math.Abs(x) < 1e6) ? x.ToString("0.####", Invariant) : x.ToString("0.###e0", Invariant);

    /// <summary>[256, 128] → 256×128; a scalar → "scalar".</summary>
    public static string Shape(IEnumerable<long> shape)
    {
        var dims = shape.ToArray();
        return dims.Length == 0 ? "scalar" : string.Join("×", dims.Select(d => d.ToString(Invariant)));
    }

    public static string Bytes(long bytes) =>
        bytes >= 1_000_000_000 ? $"{bytes / 1e9:0.##} GB" :                 // decimal units, as the benchmarks and READMEs print them
        bytes >= 1_000_000 ? $"{bytes / 1e6:0.##} MB" :
        bytes >= 1_000 ? $"{bytes / 1e3:0.#} KB" : $"{bytes} B";

    public const string TableStyle = "border-collapse:collapse;font-size:13px;font-family:system-ui,-apple-system,'Segoe UI',sans-serif";
    public const string CellStyle = "padding:2px 10px;text-align:left;vertical-align:top;border-bottom:1px solid #ddd";
    public const string NumberCellStyle = "padding:2px 10px;text-align:right;vertical-align:top;border-bottom:1px solid #ddd;font-variant-numeric:tabular-nums";
    public const string BlockStyle = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px";

    public static string Row(params string[] cells) => "<tr>" + string.Concat(cells.Select(c => $"<td style=\"{CellStyle}\">{c}</td>")) + "</tr>";

    /// <summary>A row whose first cell is text and the others numbers (right-aligned).</summary>
    public static string NumberRow(string first, params string[] numbers) =>
        $"<tr><td style=\"{CellStyle}\">{first}</td>" + string.Concat(numbers.Select(c => $"<td style=\"{NumberCellStyle}\">{c}</td>")) + "</tr>";

    /// <summary>A header row (text cells, encoded here).</summary>
    public static string Header(params string[] cells) =>
        "<tr>" + string.Concat(cells.Select(c => $"<th style=\"{CellStyle};font-weight:600\">{Encode(c)}</th>")) + "</tr>";

    /// <summary>A share as a percentage with one decimal ("—" when unknown).</summary>
    public static string Percent(double share) => double.IsFinite(share) ? (share * 100).ToString("0.0", Invariant) + " %" : "—";

    /// <summary>A two-column table of names and values (values are HTML).</summary>
    public static string KeyValueTable(IEnumerable<(string Key, string ValueHtml)> rows) =>
        $"<table style=\"{TableStyle}\">" +
        string.Concat(rows.Select(r => $"<tr><th style=\"{CellStyle};font-weight:600\">{Encode(r.Key)}</th><td style=\"{CellStyle}\">{r.ValueHtml}</td></tr>")) +
        "</table>";
}
