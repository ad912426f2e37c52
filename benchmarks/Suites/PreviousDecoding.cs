using EfficientML.Core;
using EfficientML.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// TinyGpt's cached greedy decoding as it was before the lean decode step, copied line for line from the library (commit
/// 3fb1a15: Generation.cs, TinyGpt.cs, KvCache.cs) and kept only to measure the lean step against: positions through
/// arange and the embedding, three separate q/k/v projections with their view/transpose, a cache of separate key and
/// value buffers written under a no_grad guard per layer, grouped key/value heads copied with repeat_interleave, an
/// attention output made contiguous, logits for every fed position, and no_grad rather than inference mode. It runs on the
/// same model and parameters.
/// </summary>
public static class PreviousDecoding
{
    /// <summary>Greedy continuation of <paramref name="prompt"/> by <paramref name="maxNewTokens"/> tokens, as <c>TinyGpt.Generate</c> did.</summary>
    public static int[] Generate(TinyGpt model, IReadOnlyList<int> prompt, int maxNewTokens)
    {
        var tokens = new List<int>(prompt);
        var produced = new List<int>();
        int cacheStart = 0;
        using var sampler = Seeding.Generator(1);           // made (and unused) by every greedy call, as before
        using var cache = new Cache(model.Config, model.Device);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            for (int i = 0; i < maxNewTokens; i++)
            {
                using var scope = NewDisposeScope();
                var logits = NextLogits(model, tokens, cache, ref cacheStart);                       // (V)
                int next = (int)logits.argmax().item<long>();
                tokens.Add(next);
                produced.Add(next);
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return produced.ToArray();
    }

    /// <summary>The previous cache: separate key and value buffers (B, KvHeads, capacity, HeadDim) per layer.</summary>
    public sealed class Cache : IDisposable
    {
        readonly Tensor[] _keys, _values;
        readonly int[] _lengths;

        public Cache(TinyGptConfig config, Device device)
        {
            _keys = new Tensor[config.Layers];
            _values = new Tensor[config.Layers];
            _lengths = new int[config.Layers];
            for (int l = 0; l < config.Layers; l++)
            {
                _keys[l] = zeros(1, config.KvHeads, config.ContextLength, config.HeadDim, device: device).DetachFromDisposeScope();
                _values[l] = zeros(1, config.KvHeads, config.ContextLength, config.HeadDim, device: device).DetachFromDisposeScope();
            }
        }

        public int Length => _lengths[0];

        public void Rollback(int length)
        {
            for (int l = 0; l < _lengths.Length; l++) _lengths[l] = Math.Min(_lengths[l], length);
        }

        public (Tensor Keys, Tensor Values) Append(int layer, int start, Tensor k, Tensor v)
        {
            if (_lengths[layer] != start) throw new InvalidOperationException($"Layer {layer} holds {_lengths[layer]} positions, not {start}.");
            int t = (int)k.shape[2];
            using (no_grad())
            {
                _keys[layer].narrow(2, start, t).copy_(k);
                _values[layer].narrow(2, start, t).copy_(v);
            }
            _lengths[layer] = start + t;
            return (_keys[layer].narrow(2, 0, start + t), _values[layer].narrow(2, 0, start + t));
        }

        public void Dispose()
        {
            foreach (var t in _keys) t.Dispose();
            foreach (var t in _values) t.Dispose();
        }
    }

    static Tensor NextLogits(TinyGpt model, List<int> tokens, Cache cache, ref int cacheStart)
    {
        int window = model.Config.ContextLength;
        if (tokens.Count - cacheStart > window)
        {
            cache.Rollback(0);
            cacheStart = tokens.Count - Math.Max(1, window / 2);
        }
        var feed = tokens.Skip(cacheStart + cache.Length).Select(t => (long)t).ToArray();
        return Forward(model, tensor(feed, device: model.Device).unsqueeze(0), cache)[0, -1];
    }

    /// <summary>One cached forward pass (B, T) → logits (B, T, V), as <c>TinyGpt.Forward(idx, cache)</c> was.</summary>
    public static Tensor Forward(TinyGpt model, Tensor idx, Cache cache)
    {
        var c = model.Config;
        if (idx.dim() != 2) throw new ArgumentException("Token ids must be (batch, time).");
        long t = idx.shape[1];
        int start = cache.Length;
        if (start + t > c.ContextLength) throw new ArgumentException("Sequence exceeds the context length.");
        var pos = arange(start, start + t, dtype: ScalarType.Int64, device: idx.device);
        var x = model.wte.forward(idx) + model.wpe.forward(pos);                                   // (B, T, C)
        for (int l = 0; l < c.Layers; l++)
        {
            var block = model.blocks[l];
            x = x + block.attn.o_proj.forward(HeadOutputs(block.attn, c, block.ln_1.forward(x), cache, l, start));
            x = x + block.mlp.forward(block.ln_2.forward(x));
        }
        return model.Logits(x);
    }

    static Tensor HeadOutputs(CausalSelfAttention a, TinyGptConfig c, Tensor x, Cache cache, int layer, int start)
    {
        int heads = c.Heads, kvHeads = c.KvHeads, headDim = c.HeadDim;
        long b = x.shape[0], t = x.shape[1];
        var q = a.q_proj.forward(x).view(b, t, heads, headDim).transpose(1, 2);    // (B, H, T, hd)
        var k = a.k_proj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);  // (B, Hkv, T, hd)
        var v = a.v_proj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);  // (B, Hkv, T, hd)
        int past = start;
        (k, v) = cache.Append(layer, start, k, v);                                   // (B, Hkv, past+T, hd)
        if (kvHeads != heads)
        {
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        Tensor y;
        if (past == 0) y = F.scaled_dot_product_attention(q, k, v, is_casual: t > 1);
        else if (t == 1) y = F.scaled_dot_product_attention(q, k, v);
        else
        {
            var mask = ones(t, past + t, dtype: ScalarType.Bool, device: x.device).tril(past);
            y = F.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        }
        return y.transpose(1, 2).contiguous().view(b, t, heads * headDim);         // (B, T, H*hd)
    }
}
