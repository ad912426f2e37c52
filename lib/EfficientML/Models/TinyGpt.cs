using EfficientML.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Models;

/// <summary>Causal self-attention with optional grouped-query heads and a KV cache.</summary>
public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    readonly int _heads, _kvHeads, _headDim;
    public readonly Linear q_proj, k_proj, v_proj, o_proj;

    public CausalSelfAttention(TinyGptConfig c) : base(nameof(CausalSelfAttention))
    {
        (_heads, _kvHeads, _headDim) = (c.Heads, c.KvHeads, c.HeadDim);
        q_proj = nn.Linear(c.Dim, c.Heads * c.HeadDim);
        k_proj = nn.Linear(c.Dim, c.KvHeads * c.HeadDim);
        v_proj = nn.Linear(c.Dim, c.KvHeads * c.HeadDim);
        o_proj = nn.Linear(c.Heads * c.HeadDim, c.Dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, null, 0, 0);

    /// <summary>x: (B, T, C) at positions start..start+T-1; with a cache it attends to all earlier ones too.</summary>
    public Tensor Forward(Tensor x, KvCache? cache, int layer, int start) => o_proj.forward(HeadOutputs(x, cache, layer, start));

    /// <summary>The heads' outputs side by side, before the output projection: (B, T, H·hd), head h in columns h·hd … h·hd+hd−1.</summary>
    public Tensor HeadOutputs(Tensor x, KvCache? cache = null, int layer = 0, int start = 0)
    {
        if (cache != null && !is_grad_enabled()) return CachedHeadOutputs(x, cache, layer, start);
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, _heads, _headDim).transpose(1, 2);    // (B, H, T, hd)
        var k = k_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);  // (B, Hkv, T, hd)
        var v = v_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);  // (B, Hkv, T, hd)
        int past = 0;
        if (cache != null)
        {
            past = start;
            (k, v) = cache.Append(layer, start, k, v);                                // (B, Hkv, past+T, hd)
        }
        if (_kvHeads != _heads)
        {
            // Grouped-query attention: each key/value head serves Heads/KvHeads query heads.
            k = k.repeat_interleave(_heads / _kvHeads, dim: 1);
            v = v.repeat_interleave(_heads / _kvHeads, dim: 1);
        }
        Tensor y;
        if (past == 0) y = F.scaled_dot_product_attention(q, k, v, is_casual: t > 1);
        else if (t == 1) y = F.scaled_dot_product_attention(q, k, v);               // one new token sees everything
        else y = F.scaled_dot_product_attention(q, k, v, attn_mask: cache!.Mask(t, past, 1));
        return y.transpose(1, 2).contiguous().view(b, t, _heads * _headDim);       // (B, T, H*hd)
    }

    /// <summary>
    /// Decoding with the cache and without gradients: one fused projection whose key and value columns go into the cache
    /// with one copy, attention over views of the cache, and grouped query heads folded onto their key/value head, so
    /// nothing of the cache is copied. A single new token needs no mask; a longer input shares one mask across layers.
    /// </summary>
    Tensor CachedHeadOutputs(Tensor x, KvCache cache, int layer, int start)
    {
        var shape = x.shape;                                                                       // one call, not one per dimension
        long b = shape[0], t = shape[1];
        int groups = _heads / _kvHeads, width = _heads * _headDim;
        var fused = cache.Projection(layer, this);
        var qkv = F.linear(x, fused.Weight, fused.Bias);                                          // (B, T, H·hd + 2·Hkv·hd)
        var (k, v) = cache.AppendRows(layer, start, qkv.narrow(2, width, 2 * _kvHeads * _headDim)); // (B, Hkv, start+T, hd)
        var q = qkv.narrow(2, 0, width);                                                           // (B, T, H·hd)
        if (t == 1)
        {
            // The G query heads of one key/value head (heads g·G … g·G+G−1) become G queries of it.
            var y1 = F.scaled_dot_product_attention(q.view(b, _kvHeads, groups, _headDim), k, v);  // (B, Hkv, G, hd)
            return y1.reshape(b, 1, width);
        }
        var qh = q.view(b, t, _heads, _headDim).transpose(1, 2);                                   // (B, H, T, hd)
        Tensor y;
        if (groups == 1)
            y = start == 0 ? F.scaled_dot_product_attention(qh, k, v, is_casual: true)
                : F.scaled_dot_product_attention(qh, k, v, attn_mask: cache.Mask(t, start, 1));
        else
        {
            var qg = qh.reshape(b, _kvHeads, groups * t, _headDim);                                // (B, Hkv, G·T, hd)
            y = F.scaled_dot_product_attention(qg, k, v, attn_mask: cache.Mask(t, start, groups)).reshape(b, _heads, t, _headDim);
        }
        return y.transpose(1, 2).reshape(b, t, width);                                             // (B, T, H·hd)
    }
}

/// <summary>Position-wise MLP: Linear, GELU (exact or tanh-approximated, per the configuration), Linear.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public readonly Linear fc, proj;
    readonly GELU.Approximate _approximate;

    public Mlp(TinyGptConfig c) : base(nameof(Mlp))
    {
        fc = nn.Linear(c.Dim, c.MlpDim);
        proj = nn.Linear(c.MlpDim, c.Dim);
        _approximate = c.Activation == TinyGptConfig.GeluTanh ? GELU.Approximate.tanh : GELU.Approximate.none;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => proj.forward(Activate(fc.forward(x)));

    /// <summary>The non-linearity between the two layers (element-wise).</summary>
    public Tensor Activate(Tensor hidden) => F.gelu(hidden, _approximate, inplace: false);
}

/// <summary>Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)).</summary>
public sealed class Block : nn.Module<Tensor, Tensor>
{
    public readonly LayerNorm ln_1, ln_2;
    public readonly CausalSelfAttention attn;
    public readonly Mlp mlp;

    public Block(TinyGptConfig c) : base(nameof(Block))
    {
        ln_1 = nn.LayerNorm(c.Dim, c.NormEps);
        attn = new CausalSelfAttention(c);
        ln_2 = nn.LayerNorm(c.Dim, c.NormEps);
        mlp = new Mlp(c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, null, 0, 0);

    public Tensor Forward(Tensor x, KvCache? cache, int layer, int start)
    {
        x = x + attn.Forward(ln_1.forward(x), cache, layer, start);
        return x + mlp.forward(ln_2.forward(x));
    }
}

/// <summary>
/// A small decoder-only transformer (GPT-2 layout, pre-norm, learned positions). Forward runs with or
/// without a <see cref="KvCache"/>, can stop after the first layers (early exit) and report every
/// layer's hidden state; see <see cref="Generate"/> for decoding.
/// </summary>
public sealed partial class TinyGpt : nn.Module<Tensor, Tensor>
{
    public readonly Embedding wte, wpe;
    public readonly ModuleList<Block> blocks;
    public readonly LayerNorm ln_f;
    public readonly Linear? lm_head;

    /// <summary>The sizes this model was built with.</summary>
    public TinyGptConfig Config { get; }

    /// <summary>Builds a randomly initialised model (GPT-2 initialisation) on the CPU.</summary>
    public TinyGpt(TinyGptConfig config, long? seed = null) : base(nameof(TinyGpt))
    {
        TorchNative.EnsureLoaded();
        Config = config.Validate();
        // Weights, and as much again for the initialisation's temporaries.
        MemoryBudget.Require(2.0 * config.WeightBytes, $"A TinyGpt of {config.ParameterCount:N0} parameters",
            "Choose smaller sizes (width, layers, MLP width, vocabulary, context).");
        if (seed is long s) Seeding.Everything(s);
        wte = nn.Embedding(config.VocabSize, config.Dim);
        wpe = nn.Embedding(config.ContextLength, config.Dim);
        blocks = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new Block(config)).ToArray());
        ln_f = nn.LayerNorm(config.Dim, config.NormEps);
        lm_head = config.TiedHead ? null : nn.Linear(config.Dim, config.VocabSize, hasBias: false);
        RegisterComponents();
        Initialise();
    }

    void Initialise()
    {
        using var _ = no_grad();
        var residualStd = 0.02 / Math.Sqrt(2.0 * Config.Layers); // GPT-2: residual projections scaled by depth
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal)) nn.init.zeros_(p);
            else if (name.Contains("ln_", StringComparison.Ordinal)) nn.init.ones_(p);
            else if (name.EndsWith("o_proj.weight", StringComparison.Ordinal) || name.EndsWith("mlp.proj.weight", StringComparison.Ordinal))
                nn.init.normal_(p, 0, residualStd);
            else nn.init.normal_(p, 0, 0.02);
        }
    }

    /// <summary>Device of the parameters.</summary>
    public Device Device => wte.weight!.device;

    /// <summary>Number of parameters (a tied head counts once).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Logits (B, T, V) for token ids (B, T).</summary>
    public override Tensor forward(Tensor idx) => Forward(idx);

    /// <summary>
    /// Logits (B, T, V) for token ids <paramref name="idx"/> (B, T).
    /// <paramref name="cache"/>: positions continue from what the cache holds, and it is extended.
    /// <paramref name="exitAfter"/>: run only that many blocks, then the final norm and head (early exit).
    /// <paramref name="tap"/>: called with (i, hidden (B, T, C)) for the embeddings (i = 0) and after block i-1 (i = 1..L).
    /// </summary>
    public Tensor Forward(Tensor idx, KvCache? cache = null, int? exitAfter = null, Action<int, Tensor>? tap = null)
    {
        var hidden = Hidden(idx, cache, exitAfter, tap);
        return Logits(hidden);
    }

    /// <summary>Residual stream after the embeddings and the first <paramref name="exitAfter"/> blocks (all by default).</summary>
    public Tensor Hidden(Tensor idx, KvCache? cache = null, int? exitAfter = null, Action<int, Tensor>? tap = null)
    {
        if (idx.dim() != 2) throw new InvalidSettingsException($"Token ids must be (batch, time); got shape [{string.Join(", ", idx.shape)}].");
        int depth = exitAfter ?? Config.Layers;
        if (depth < 0 || depth > Config.Layers) throw new InvalidSettingsException($"Can run 0..{Config.Layers} blocks, not {depth}.");
        long t = idx.shape[1];
        int start = cache?.Length ?? 0;
        if (start + t > Config.ContextLength)
            throw new InvalidSettingsException($"Sequence of {start + t} tokens exceeds the context length {Config.ContextLength}; crop the input or reset the cache.");
        var x = wte.forward(idx) + wpe.weight!.narrow(0, start, t);                  // (B, T, C) + (T, C)
        tap?.Invoke(0, x);
        return RunLayers(x, cache, 0, depth, start, tap);
    }

    /// <summary>
    /// Runs blocks <paramref name="from"/> … <paramref name="to"/>−1 on the residual stream <paramref name="x"/> (B, T, C) of
    /// positions <paramref name="start"/> onwards: the second half of a forward pass whose first layers already ran (a
    /// speculative draft's states). <paramref name="tap"/> is called with (l + 1, state) after block l.
    /// </summary>
    public Tensor RunLayers(Tensor x, KvCache? cache, int from, int to, int start, Action<int, Tensor>? tap = null)
    {
        if (from < 0 || to > Config.Layers || from > to)
            throw new InvalidSettingsException($"Blocks {from}..{to} are not a range within 0..{Config.Layers}.");
        for (int l = from; l < to; l++)
        {
            x = blocks[l].Forward(x, cache, l, start);
            tap?.Invoke(l + 1, x);
        }
        return x;
    }

    /// <summary>Final LayerNorm and output head: hidden (B, T, C) to logits (B, T, V).</summary>
    public Tensor Logits(Tensor hidden)
    {
        var h = ln_f.forward(hidden);
        return lm_head is null ? F.linear(h, wte.weight!) : lm_head.forward(h);
    }

    /// <summary>Every layer's residual stream at once: (L+1, B, T, C), index 0 = embeddings.</summary>
    public Tensor HiddenStates(Tensor idx)
    {
        var states = new List<Tensor>();
        Hidden(idx, tap: (_, h) => states.Add(h));
        return stack(states);
    }

    /// <summary>A KV cache for this model (on its device and dtype).</summary>
    public KvCache CreateCache(int batchSize = 1, int? capacity = null) =>
        new(Config, batchSize, capacity ?? Config.ContextLength, Device, wte.weight!.dtype);

    /// <summary>Mean cross-entropy (nats per token) of predicting <paramref name="targets"/> from <paramref name="idx"/>.</summary>
    public Tensor Loss(Tensor idx, Tensor targets)
    {
        var logits = Forward(idx);
        return F.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1));
    }
}
