using System.Globalization;
using System.Net;

namespace EfficientML.Interactive;

/// <summary>Small helpers the formatters share: encoding, one table style, and the number formats of <see cref="Format"/>.</summary>
static class Html
{
    public static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>1,650,000 (<see cref="Format.Count"/>).</summary>
    public static string Count(long n) => Format.Count(n);

    /// <summary>Four significant digits (<see cref="Format.Number"/>).</summary>
    public static string Number(double x) => Format.Number(x);

    /// <summary>[256, 128] → 256×128; a scalar → "scalar".</summary>
    public static string Shape(IEnumerable<long> shape)
    {
        var dims = shape.ToArray();
        return dims.Length == 0 ? "scalar" : string.Join("×", dims.Select(d => d.ToString(Invariant)));
    }

    /// <summary>Decimal units (<see cref="Format.Bytes"/>).</summary>
    public static string Bytes(long bytes) => Format.Bytes(bytes);

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

    /// <summary>A share as a percentage with one decimal (<see cref="Format.Percent"/>).</summary>
    public static string Percent(double share) => Format.Percent(share);

    /// <summary>A two-column table of names and values (values are HTML).</summary>
    public static string KeyValueTable(IEnumerable<(string Key, string ValueHtml)> rows) =>
        $"<table style=\"{TableStyle}\">" +
        string.Concat(rows.Select(r => $"<tr><th style=\"{CellStyle};font-weight:600\">{Encode(r.Key)}</th><td style=\"{CellStyle}\">{r.ValueHtml}</td></tr>")) +
        "</table>";
}
