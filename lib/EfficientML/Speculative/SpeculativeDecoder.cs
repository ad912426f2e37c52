using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Models;
using static TorchSharp.torch;

namespace EfficientML.Speculative;

/// <summary>
/// Speculative decoding of a <see cref="TinyGpt"/> target with any <see cref="Drafter"/>: each round the drafter proposes
/// γ tokens, the target scores all of them in one pass over its KV cache, the agreeing prefix plus the target's own next
/// token are kept, and the cache is rolled back past the first rejection. Greedy output equals
/// <see cref="TinyGpt.Generate"/>'s greedy output token for token, including the way a full context window slides;
/// sampled output follows the same distribution as plain sampling.
/// </summary>
public sealed class SpeculativeDecoder
{
    /// <summary>Decodes <paramref name="target"/> with drafts from <paramref name="drafter"/> (checked against it here).</summary>
    public SpeculativeDecoder(TinyGpt target, Drafter drafter)
    {
        Target = target ?? throw new ArgumentNullException(nameof(target));
        Drafter = drafter ?? throw new ArgumentNullException(nameof(drafter));
        drafter.Check(target);
    }

    /// <summary>The model whose output is produced.</summary>
    public TinyGpt Target { get; }

    /// <summary>Where the drafts come from.</summary>
    public Drafter Drafter { get; }

    /// <summary>
    /// Continues <paramref name="prompt"/> (at most one context window) and returns the emitted tokens with their sources
    /// and the rounds' statistics. <paramref name="onToken"/> sees each token as soon as it is kept; <paramref name="cancellation"/>
    /// is honoured between rounds. <paramref name="cache"/> (optional) is the target's cache to decode into (reset first);
    /// afterwards it holds the final window's tokens except the newest, as plain cached decoding would have filled it.
    /// <paramref name="onRound"/> sees each round's statistics once its tokens have been passed to <paramref name="onToken"/>
    /// (a live view can then show the acceptance rate while decoding).
    /// </summary>
    public SpeculativeResult Generate(IReadOnlyList<int> prompt, SpeculationOptions? options = null,
        Action<SpeculativeToken>? onToken = null, CancellationToken cancellation = default, KvCache? cache = null,
        Action<SpeculationRound>? onRound = null)
    {
        var config = Target.Config;
        var o = (options ?? new SpeculationOptions()).Validate(config);
        CheckPrompt(prompt, config);
        int window = config.ContextLength;
        bool sampling = o.Temperature > 0;
        var total = Stopwatch.StartNew();
        var tokens = new List<int>(prompt);
        var stream = new List<SpeculativeToken>();
        var rounds = new List<SpeculationRound>();
        int gamma = o.Gamma, cacheStart = 0;
        using var sampler = Seeding.Generator(o.Seed);
        using var ownCache = cache is null ? Target.CreateCache() : null;
        cache ??= ownCache!;
        if (cache.BatchSize != 1 || cache.Capacity < window)
            throw new InvalidSettingsException($"The cache must hold one sequence of {window} positions; make it with Target.CreateCache().");
        cache.Reset();
        using var evalMode = new EvalMode(Target);
        using var _ = inference_mode();
        Drafter.Begin(Target);
        Prefill(cache, tokens, cacheStart);
        double prefillSeconds = total.Elapsed.TotalSeconds;
        bool stopped = false;
        while (stream.Count < o.MaxNewTokens && !stopped && !cancellation.IsCancellationRequested)
        {
            using var scope = NewDisposeScope();
            if (tokens.Count - cacheStart > window)
            {
                // The same slide as plain decoding: restart from the newest half-window.
                cache.Reset();
                Drafter.Rollback(0);
                cacheStart = tokens.Count - Math.Max(1, window / 2);
                Prefill(cache, tokens, cacheStart);
            }
            var view = tokens.GetRange(cacheStart, tokens.Count - cacheStart);
            int room = window - view.Count;                                    // drafts whose verification still fits the window
            int g = Math.Min(Math.Min(gamma, room), o.MaxNewTokens - stream.Count - 1);

            var clock = Stopwatch.StartNew();
            var drafts = new List<int>(g);
            var q = new List<Tensor>(g);
            for (int i = 0; i < g; i++)
            {
                var logits = Drafter.Next(Target, cache, view);
                int d;
                if (sampling)
                {
                    var qi = SpeculativeSampling.Distribution(logits, o.Temperature, o.TopK);
                    q.Add(qi);
                    d = SpeculativeSampling.Draw(qi, sampler);
                }
                else d = (int)logits.argmax().item<long>();
                drafts.Add(d);
                view.Add(d);
            }
            double draftSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var verified = Drafter.Verify(Target, cache, view, g);               // (g+1, V)
            var (accepted, next) = sampling
                ? SpeculativeSampling.AcceptSampled(drafts, SpeculativeSampling.Distribution(verified, o.Temperature, o.TopK), q.Count > 0 ? stack(q) : null, sampler)
                : SpeculativeSampling.AcceptGreedy(drafts, verified.argmax(-1).cpu().data<long>().ToArray());
            double verifySeconds = clock.Elapsed.TotalSeconds;

            int round = rounds.Count;
            rounds.Add(new SpeculationRound(round, g, accepted, draftSeconds, verifySeconds));
            var kept = drafts.Take(accepted).Select((t, i) => new SpeculativeToken(t, TokenSource.Accepted, round, i + 1))
                .Append(new SpeculativeToken(next, accepted < g ? TokenSource.Corrected : TokenSource.Bonus, round, 0));
            foreach (var t in kept)
            {
                tokens.Add(t.Token);
                stream.Add(t);
                onToken?.Invoke(t);
                if (t.Token == o.StopToken) { stopped = true; break; }
            }
            onRound?.Invoke(rounds[^1]);
            // Keep in the cache the committed tokens except the newest, which the next round feeds.
            int keep = tokens.Count - 1 - cacheStart;
            cache.Rollback(Math.Min(keep, cache.Length));
            Drafter.Rollback(keep);
            if (o.AdaptiveGamma) gamma = accepted == g && g == gamma ? Math.Min(o.MaxGamma, gamma + 2) : accepted < g ? Math.Max(1, gamma - 1) : gamma;
        }
        return new SpeculativeResult(Drafter.Name, stream, rounds, total.Elapsed.TotalSeconds, prefillSeconds);
    }

    /// <summary>Reads tokens[start .. Count−2] into every layer of the cache (the newest token is fed by the first round).</summary>
    void Prefill(KvCache cache, List<int> tokens, int start)
    {
        int n = tokens.Count - 1 - start;
        if (n <= 0) return;
        using var scope = NewDisposeScope();
        var ids = tokens.GetRange(start, n).Select(t => (long)t).ToArray();
        Target.Hidden(tensor(ids, device: Target.Device).unsqueeze(0), cache);
    }

    static void CheckPrompt(IReadOnlyList<int> prompt, TinyGptConfig config)
    {
        if (prompt is null || prompt.Count == 0) throw new InvalidSettingsException("The prompt needs at least one token.");
        if (prompt.Count > config.ContextLength)
            throw new InvalidSettingsException($"The prompt has {prompt.Count} tokens but the model reads at most {config.ContextLength}; shorten it to its last {config.ContextLength} tokens.");
        if (prompt.Any(t => t < 0 || t >= config.VocabSize))
            throw new InvalidSettingsException($"Prompt token ids must lie in 0..{config.VocabSize - 1}: use the tokenizer the model was trained with.");
    }
}
