using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Models;

/// <summary>How to pick each next token.</summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to produce after the prompt.</summary>
    public int MaxNewTokens { get; init; } = 100;

    /// <summary>0 picks the most likely token (greedy); above 0 samples from softmax(logits / temperature).</summary>
    public double Temperature { get; init; }

    /// <summary>When above 0, sample only among the k most likely tokens.</summary>
    public int TopK { get; init; }

    /// <summary>Seed of the sampler (sampling never touches the global random stream).</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Reuse keys and values of past positions (true), or run the whole window every step (false).</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>Stop after producing this token.</summary>
    public int? StopToken { get; init; }

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public GenerationOptions Validate(TinyGptConfig config)
    {
        if (MaxNewTokens < 0) throw new InvalidSettingsException("MaxNewTokens cannot be negative.");
        if (Temperature < 0 || double.IsNaN(Temperature)) throw new InvalidSettingsException("Temperature must be 0 (greedy) or positive.");
        if (TopK < 0 || TopK > config.VocabSize) throw new InvalidSettingsException($"TopK must be 0 (off) or 1..{config.VocabSize}.");
        return this;
    }
}

public sealed partial class TinyGpt
{
    /// <summary>
    /// Continues <paramref name="prompt"/> by up to <see cref="GenerationOptions.MaxNewTokens"/> tokens and returns the new ones.
    /// <paramref name="onToken"/> sees each token as soon as it is chosen; <paramref name="cancellation"/> is honoured between tokens.
    /// With the cache, a window that fills up slides by half the context (re-reading the newest half);
    /// without it, every step reads the last <see cref="TinyGptConfig.ContextLength"/> tokens.
    /// <paramref name="prefilled"/>: a cache that already holds the prompt's first positions (a parallel prefill's), which
    /// decoding continues from instead of reading the prompt again; the caller keeps and disposes it.
    /// </summary>
    public int[] Generate(IReadOnlyList<int> prompt, GenerationOptions? options = null, Action<int>? onToken = null, CancellationToken cancellation = default,
        KvCache? prefilled = null)
    {
        var o = (options ?? new GenerationOptions()).Validate(Config);
        if (prompt.Count == 0) throw new InvalidSettingsException("The prompt needs at least one token.");
        if (prompt.Any(t => t < 0 || t >= Config.VocabSize))
            throw new InvalidSettingsException($"Prompt token ids must lie in 0..{Config.VocabSize - 1}: use the tokenizer the model was trained with.");
        var tokens = new List<int>(prompt);
        var produced = new List<int>();
        int cacheStart = 0;
        using var sampler = Seeding.Generator(o.Seed);
        if (prefilled != null && (!o.UseCache || prefilled.BatchSize != 1 || prefilled.Length > prompt.Count || prefilled.Capacity < Config.ContextLength))
            throw new InvalidSettingsException(
                $"A prefilled cache continues a prompt when decoding uses the cache, holds one sequence, at most the prompt's {prompt.Count} positions " +
                $"and has room for the whole context ({Config.ContextLength}); this one holds {prefilled.Length} of {prefilled.Capacity}.");
        // The last prompt position is read again: its logits choose the first new token.
        if (prefilled != null && prefilled.Length == prompt.Count) prefilled.Rollback(prompt.Count - 1);
        using var owned = o.UseCache && prefilled is null ? CreateCache() : null;
        var cache = prefilled ?? owned;
        bool wasTraining = training;
        eval();
        try
        {
            // Inference mode: no gradients, and libtorch skips the autograd bookkeeping of every op (measurably faster per step).
            using var _ = inference_mode();
            for (int i = 0; i < o.MaxNewTokens && !cancellation.IsCancellationRequested; i++)
            {
                using var scope = NewDisposeScope();
                var logits = NextLogits(tokens, cache, ref cacheStart);                                 // (V)
                int next = Pick(logits, o, sampler);
                tokens.Add(next);
                produced.Add(next);
                onToken?.Invoke(next);
                if (next == o.StopToken) break;
            }
        }
        finally
        {
            if (wasTraining) train();
        }
        return produced.ToArray();
    }

    /// <summary>
    /// Logits for the token after <paramref name="tokens"/>. The cache holds tokens from index <paramref name="cacheStart"/>;
    /// it is fed only what it lacks, and when that would overflow it restarts from the newest half-window.
    /// </summary>
    Tensor NextLogits(List<int> tokens, KvCache? cache, ref int cacheStart)
    {
        int window = Config.ContextLength;
        if (cache is null)
        {
            var context = tokens.Skip(Math.Max(0, tokens.Count - window)).Select(t => (long)t).ToArray();
            return Forward(tensor(context, device: Device).unsqueeze(0))[0, -1];
        }
        if (tokens.Count - cacheStart > window)
        {
            cache.Reset();
            cacheStart = tokens.Count - Math.Max(1, window / 2);
        }
        var feed = new long[tokens.Count - cacheStart - cache.Length];
        for (int i = 0; i < feed.Length; i++) feed[i] = tokens[cacheStart + cache.Length + i];
        var hidden = Hidden(tensor(feed, device: Device).unsqueeze(0), cache);        // (1, T, C)
        return Logits(hidden.select(1, -1))[0];                                      // the head reads only the last position
    }

    static int Pick(Tensor logits, GenerationOptions o, Generator sampler)
    {
        if (o.Temperature == 0) return (int)logits.argmax().item<long>();
        var scaled = logits.to(ScalarType.Float32) / o.Temperature;
        if (o.TopK > 0)
        {
            var kth = scaled.topk(o.TopK).values[-1];
            scaled = scaled.masked_fill(scaled < kth, double.NegativeInfinity);
        }
        var probabilities = scaled.softmax(-1).cpu();
        return (int)probabilities.multinomial(1, generator: sampler).item<long>();
    }
}
