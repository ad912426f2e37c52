using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Interactive;

/// <summary>
/// A tensor as HTML: shape, dtype, device, a few statistics, a preview of the first values, and a heat map when
/// it is a matrix. Everything is computed on a float64 copy in a dispose scope: formatting never leaks memory.
/// </summary>
static class TensorHtml
{
    const int PreviewRows = 6, PreviewColumns = 8;

    public static string Render(Tensor tensor)
    {
        if (tensor.IsInvalid) return $"<div style=\"{Html.BlockStyle}\">Tensor (disposed)</div>";
        var html = new StringBuilder();
        html.Append($"<div class=\"efml-tensor\" style=\"{Html.BlockStyle}\">");
        html.Append($"<div style=\"margin-bottom:6px\"><b>Tensor</b> [{Html.Encode(string.Join(", ", tensor.shape))}] · {Html.Encode(tensor.dtype.ToString())} · " +
                    $"{Html.Encode(tensor.device.ToString())} · {Html.Count(tensor.numel())} values{(tensor.requires_grad ? " · requires grad" : "")}</div>");
        bool numeric = tensor.dtype is not (ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64);
        if (numeric && tensor.numel() > 0)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var values = tensor.detach().to(CPU).to_type(ScalarType.Float64);
            var finite = values.isfinite();
            long nonFinite = values.numel() - finite.sum().item<long>();
            var clean = values.masked_select(finite);
            if (clean.numel() > 0)
            {
                var rows = new List<(string, string)>
                {
                    ("min", Html.Number(clean.min().item<double>())),
                    ("max", Html.Number(clean.max().item<double>())),
                    ("mean", Html.Number(clean.mean().item<double>())),
                    ("std", clean.numel() > 1 ? Html.Number(clean.std().item<double>()) : "—"),
                    ("zeros", $"{100.0 * clean.eq(0).sum().item<long>() / values.numel():0.#}%"),
                };
                if (nonFinite > 0) rows.Add(("NaN or ∞", Html.Count(nonFinite)));
                html.Append(Html.KeyValueTable(rows));
            }
            html.Append("<pre style=\"font-size:12px;margin:6px 0\">").Append(Html.Encode(Preview(values))).Append("</pre>");
        }
        html.Append("</div>");
        if (numeric && tensor.dim() == 2 && tensor.numel() > 1)
            html.Append(ChartHtml.Fragment(HeatMap.Of(tensor, "values")));
        return html.ToString();
    }

    /// <summary>The first rows and columns of the leading 2-D slice, with ellipses where values were left out.</summary>
    static string Preview(Tensor values)
    {
        if (values.dim() == 0) return Html.Number(values.item<double>());
        var prefix = "";
        var slice = values;
        while (slice.dim() > 2)
        {
            slice = slice[0];
            prefix += "0, ";
        }
        var text = new StringBuilder();
        if (prefix.Length > 0) text.Append($"t[{prefix}:, :] =\n");
        if (slice.dim() == 1) return text.Append(Line(slice)).ToString();
        long rows = slice.shape[0];
        for (long r = 0; r < Math.Min(rows, PreviewRows); r++) text.Append(Line(slice[r])).Append('\n');
        if (rows > PreviewRows) text.Append($"… {rows - PreviewRows} more rows");
        return text.ToString().TrimEnd('\n');
    }

    static string Line(Tensor row)
    {
        long n = row.shape[0];
        var shown = row[..(int)Math.Min(n, PreviewColumns)].data<double>().ToArray().Select(v => Html.Number(v).PadLeft(9));
        return "[" + string.Join(" ", shown) + (n > PreviewColumns ? $"  … {n - PreviewColumns} more" : "") + "]";
    }
}
