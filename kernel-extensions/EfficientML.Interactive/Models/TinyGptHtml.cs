using EfficientML.Models;
using TorchSharp;

namespace EfficientML.Interactive;

/// <summary>
/// A TinyGpt as HTML: its configuration, then one row per layer (embeddings, each block, final norm, head) with
/// the weight shapes of its modules and its parameter count, and the total (a tied head counts once).
/// </summary>
static class TinyGptHtml
{
    sealed record Layer(string Name, List<(string Module, long[] Shape, bool HasBias)> Modules)
    {
        public long Parameters;
    }

    public static string Render(TinyGpt model)
    {
        var c = model.Config;
        var layers = Layers(model);
        long total = layers.Sum(l => l.Parameters);
        string dtype = model.parameters().FirstOrDefault()?.dtype.ToString() ?? "none";
        var head = $"<div style=\"{Html.BlockStyle};margin-bottom:6px\"><b>TinyGpt</b> · {Html.Count(total)} parameters · " +
                   $"{Html.Bytes(total * 4)} as float32 · {Html.Encode(dtype)} on {Html.Encode(model.Device.ToString())} · {(model.training ? "training" : "eval")} mode</div>";
        var config = Html.KeyValueTable(new (string, string)[]
        {
            ("layers", c.Layers.ToString(Html.Invariant)),
            ("width (d)", c.Dim.ToString(Html.Invariant)),
            ("heads", c.KvHeads == c.Heads ? $"{c.Heads} × {c.HeadDim} wide" : $"{c.Heads} query, {c.KvHeads} key/value (grouped), each {c.HeadDim} wide"),
            ("MLP width", c.MlpDim.ToString(Html.Invariant)),
            ("context", $"{c.ContextLength} tokens"),
            ("vocabulary", $"{c.VocabSize} tokens"),
            ("output head", c.TiedHead ? "tied to the token embedding" : "separate matrix"),
        });
        var rows = string.Concat(layers.Select(l =>
            $"<tr><td style=\"{Html.CellStyle}\">{Html.Encode(l.Name)}</td>" +
            $"<td style=\"{Html.CellStyle};font-family:ui-monospace,monospace;font-size:12px\">{Modules(l)}</td>" +
            $"<td style=\"{Html.NumberCellStyle}\">{Html.Count(l.Parameters)}</td></tr>"));
        var table =
            $"<table class=\"efml-layers\" style=\"{Html.TableStyle};margin-top:8px\">" +
            $"<tr><th style=\"{Html.CellStyle}\">layer</th><th style=\"{Html.CellStyle}\">modules (weight shapes, out×in; +b = bias)</th><th style=\"{Html.NumberCellStyle}\">parameters</th></tr>" +
            rows +
            $"<tr><td style=\"{Html.CellStyle};font-weight:600\">total</td><td style=\"{Html.CellStyle}\"></td>" +
            $"<td class=\"efml-total\" style=\"{Html.NumberCellStyle};font-weight:600\">{Html.Count(total)}</td></tr></table>";
        return $"<div class=\"efml-tinygpt\">{head}{config}{table}</div>";
    }

    static string Modules(Layer layer) =>
        layer.Modules.Count == 0 ? "shares the token embedding (tied)" :
        string.Join(" · ", layer.Modules.Select(m => $"{Html.Encode(m.Module)} {Html.Shape(m.Shape)}{(m.HasBias ? " +b" : "")}"));

    /// <summary>Groups parameters by layer: embeddings, blocks.N, ln_f, lm_head (shown as tied when absent).</summary>
    static List<Layer> Layers(TinyGpt model)
    {
        var layers = new List<Layer>();
        Layer For(string name)
        {
            var found = layers.FirstOrDefault(l => l.Name == name);
            if (found != null) return found;
            found = new Layer(name, new());
            layers.Add(found);
            return found;
        }
        foreach (var (name, p) in model.named_parameters())
        {
            var parts = name.Split('.');
            string layerName, module;
            if (parts[0] == "blocks" && parts.Length > 2) { layerName = $"block {parts[1]}"; module = string.Join('.', parts[2..^1]); }
            else if (parts[0] is "wte" or "wpe") { layerName = "embeddings"; module = parts[0]; }
            else if (parts[0] == "ln_f") { layerName = "final norm"; module = "ln_f"; }
            else if (parts[0] == "lm_head") { layerName = "output head"; module = "lm_head"; }
            else { layerName = parts[0]; module = string.Join('.', parts[..^1]); }
            var layer = For(layerName);
            layer.Parameters += p.numel();
            bool isBias = parts[^1] == "bias";
            int index = layer.Modules.FindIndex(m => m.Module == module);
            if (index < 0) layer.Modules.Add((module, isBias ? [] : p.shape, isBias));
            else
            {
                var m = layer.Modules[index];
                layer.Modules[index] = isBias ? m with { HasBias = true } : m with { Shape = p.shape };
            }
        }
        if (model.Config.TiedHead) For("output head");
        return layers;
    }
}
