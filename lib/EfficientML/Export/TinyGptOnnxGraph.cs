using EfficientML.Clustering;
using EfficientML.Models;
using TorchSharp;
using static EfficientML.Export.OnnxGraphBuilder;

namespace EfficientML.Export;

/// <summary>
/// Writes TinyGpt's forward pass (see <see cref="TinyGpt"/>: embeddings, pre-norm blocks, final norm, head) as ONNX
/// opset-17 nodes, with the shapes of each step in the comments. B and T are dynamic; T ≤ the context length.
/// </summary>
internal sealed class TinyGptOnnxGraph
{
    readonly OnnxGraphBuilder _g = new();
    readonly PalettizedModel _model;
    readonly TinyGptConfig _c;
    readonly Dictionary<string, string> _weights = new(StringComparer.Ordinal);

    readonly OnnxPalette _palettes;

    TinyGptOnnxGraph(PalettizedModel model) => (_model, _c, _palettes) = (model, model.Config, new OnnxPalette(_g));

    /// <summary>The graph of <paramref name="model"/>'s forward: <paramref name="input"/> (B, T) int64 → <paramref name="output"/> (B, T, V).</summary>
    public static Onnx.GraphProto Build(PalettizedModel model, string input, string output)
    {
        var b = new TinyGptOnnxGraph(model);
        var graph = b._g.Graph;
        graph.Name = "tinygpt";
        graph.Input.Add(Value(input, Onnx.TensorProto.Types.DataType.Int64, "batch", "time"));
        var logits = b.Forward(input);
        graph.Node.Add(new Onnx.NodeProto { OpType = "Identity", Name = output, Input = { logits }, Output = { output } });
        graph.Output.Add(Value(output, Onnx.TensorProto.Types.DataType.Float, "batch", "time", (long)model.Config.VocabSize));
        return graph;
    }

    string Forward(string ids)
    {
        var shape = _g.Op("Shape", "ids_shape", ids);                                                 // (2) = [B, T]
        var t = _g.Op("Gather", "time", shape, _g.Scalar(1L));                                        // scalar T
        var t1 = _g.Op("Gather", "time_1d", shape, _g.Vector(1));                                      // (1) = [T]
        var positions = _g.Op("Range", "positions", _g.Scalar(0L), t, _g.Scalar(1L));                 // (T) = 0..T−1
        var tokens = _g.Op("Gather", "token_embedding", Weight("wte.weight"), ids);                    // (B, T, C)
        var places = _g.Op("Gather", "position_embedding", Weight("wpe.weight"), positions);           // (T, C)
        var x = _g.Op("Add", "embedded", tokens, places);                                              // (B, T, C)
        var mask = CausalMask(t1);                                                                     // (T, T)
        for (int l = 0; l < _c.Layers; l++) x = Block(x, mask, $"blocks.{l}.");
        var h = LayerNorm(x, "ln_f");                                                                  // (B, T, C)
        var head = _c.TiedHead ? Weight("wte.weight") : Weight("lm_head.weight");                      // (V, C)
        return _g.Op("MatMul", "logits_raw", h, Transposed(head));                                     // (B, T, V)
    }

    /// <summary>0 on and below the diagonal, −∞ above it: added to the scores, query i sees keys 0..i.</summary>
    string CausalMask(string t1)
    {
        var square = _g.Node("Concat", "mask_shape", [t1, t1], Int("axis", 0));                       // (2) = [T, T]
        var full = _g.Node("ConstantOfShape", "mask_full", [square], FloatTensor("value", float.NegativeInfinity)); // (T, T)
        return _g.Node("Trilu", "causal_mask", [full, _g.Scalar(1L)], Int("upper", 1));                // keeps j ≥ i + 1
    }

    string Block(string x, string mask, string p)
    {
        x = _g.Op("Add", p + "attn_residual", x, Attention(LayerNorm(x, p + "ln_1"), mask, p + "attn."));
        var h = Linear(LayerNorm(x, p + "ln_2"), p + "mlp.fc");                                        // (B, T, M)
        return _g.Op("Add", p + "mlp_residual", x, Linear(Gelu(h, p + "mlp"), p + "mlp.proj"));        // (B, T, C)
    }

    string Attention(string x, string mask, string p)
    {
        int heads = _c.Heads, kvHeads = _c.KvHeads, hd = _c.HeadDim;
        var q = Heads(Linear(x, p + "q_proj"), heads, p + "q");                                       // (B, H, T, hd)
        var k = Heads(Linear(x, p + "k_proj"), kvHeads, p + "k");                                     // (B, Hkv, T, hd)
        var v = Heads(Linear(x, p + "v_proj"), kvHeads, p + "v");                                     // (B, Hkv, T, hd)
        if (kvHeads != heads)
        {
            k = RepeatHeads(k, p + "k");                                                               // (B, H, T, hd)
            v = RepeatHeads(v, p + "v");
        }
        var kt = _g.Node("Transpose", p + "k_t", [k], Ints("perm", 0, 1, 3, 2));                       // (B, H, hd, T)
        var scores = _g.Op("Mul", p + "scores", _g.Op("MatMul", p + "qk", q, kt), _g.Scalar((float)(1 / Math.Sqrt(hd)))); // (B, H, T, T)
        var masked = _g.Op("Add", p + "masked", scores, mask);
        var weights = _g.Node("Softmax", p + "weights", [masked], Int("axis", -1));                    // (B, H, T, T)
        var y = _g.Op("MatMul", p + "mix", weights, v);                                                // (B, H, T, hd)
        y = _g.Node("Transpose", p + "merge_t", [y], Ints("perm", 0, 2, 1, 3));                        // (B, T, H, hd)
        y = _g.Op("Reshape", p + "merge", y, _g.Vector(0, 0, heads * hd));                             // (B, T, H·hd)
        return Linear(y, p + "o_proj");                                                                // (B, T, C)
    }

    /// <summary>(B, T, n·hd) → (B, n, T, hd).</summary>
    string Heads(string x, int n, string name)
    {
        var split = _g.Op("Reshape", name + "_split", x, _g.Vector(0, 0, n, _c.HeadDim));             // (B, T, n, hd)
        return _g.Node("Transpose", name + "_heads", [split], Ints("perm", 0, 2, 1, 3));               // (B, n, T, hd)
    }

    /// <summary>Grouped-query attention: each key/value head repeated for the Heads/KvHeads query heads it serves (repeat_interleave).</summary>
    string RepeatHeads(string x, string name)
    {
        long r = _c.Heads / _c.KvHeads;
        var one = _g.Op("Unsqueeze", name + "_unsq", x, _g.Vector(2));                                // (B, Hkv, 1, T, hd)
        var many = _g.Op("Expand", name + "_expand", one, _g.Vector(1, 1, r, 1, 1));                   // (B, Hkv, r, T, hd)
        return _g.Op("Reshape", name + "_repeat", many, _g.Vector(0, _c.Heads, -1, _c.HeadDim));       // (B, H, T, hd)
    }

    /// <summary>GELU written out: exact 0.5·x·(1 + erf(x/√2)), or the tanh form 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
    string Gelu(string x, string name)
    {
        string inner = _c.Activation == TinyGptConfig.GeluTanh
            ? _g.Op("Tanh", name + "_tanh", _g.Op("Mul", name + "_arg", _g.Scalar((float)Math.Sqrt(2 / Math.PI)),
                _g.Op("Add", name + "_cubic", x, _g.Op("Mul", name + "_x3c", _g.Scalar(0.044715f),
                    _g.Op("Mul", name + "_x3", x, _g.Op("Mul", name + "_x2", x, x))))))
            : _g.Op("Erf", name + "_erf", _g.Op("Mul", name + "_scaled", x, _g.Scalar((float)(1 / Math.Sqrt(2)))));
        var half = _g.Op("Mul", name + "_half", x, _g.Scalar(0.5f));
        return _g.Op("Mul", name + "_gelu", half, _g.Op("Add", name + "_one_plus", inner, _g.Scalar(1f)));
    }

    string LayerNorm(string x, string p) =>
        _g.Node("LayerNormalization", p, [x, Weight(p + ".weight"), Weight(p + ".bias")], Int("axis", -1), Float("epsilon", (float)_c.NormEps));

    /// <summary>x W^T + b, as torch's Linear.</summary>
    string Linear(string x, string p) =>
        _g.Op("Add", p, _g.Op("MatMul", p + ".matmul", x, Transposed(Weight(p + ".weight"))), Weight(p + ".bias"));

    string Transposed(string weight) =>
        _weights.TryGetValue(weight + "^T", out var t) ? t : _weights[weight + "^T"] = _g.Node("Transpose", weight + ".T", [weight], Ints("perm", 1, 0));

    /// <summary>A parameter: a float32 initializer, or its palette decoded in the graph. Written once however often used.</summary>
    string Weight(string name)
    {
        if (_weights.TryGetValue(name, out var done)) return done;
        if (_model.Palettes.TryGetValue(name, out var palette)) return _weights[name] = _palettes.Decode(name, palette);
        var value = _model.Plain[name];
        using var cpu = value.detach().cpu().to(torch.ScalarType.Float32).contiguous();
        return _weights[name] = _g.Floats(name, cpu.data<float>().ToArray(), value.shape);
    }
}
