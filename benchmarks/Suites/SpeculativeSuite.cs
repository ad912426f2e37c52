using EfficientML.Models;
using EfficientML.Speculative;
using EfficientML.Speculative.ExpertPrefetch;
using EfficientML.Text;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// M2R2 on the pretrained tiny model, in one run: plain cached greedy decoding with the lean decode step against the
/// previous step, and the step against this machine's memory-bandwidth and matmul limits (<see cref="DecodeStepStudy"/>); the layer-wise agreement of the slow and fast streams; tokens/s of
/// plain cached greedy decoding against early-exit drafting, M2R2 drafting and a separate small draft model at the same
/// exit layer and γ (with acceptance rate and tokens per full pass, and a check that every output equals plain greedy);
/// and dynamic compute (no verification): agreement and loss against layers used, confidence-based early exit vs
/// M2R2's exit predictor; and ahead-of-time expert loading on the routed model (expert prediction accuracy, modelled
/// hit rate and latency of a two-tier expert cache). Where speculation pays — the same race on targets grown by HyperCloning —
/// is its own suite, <see cref="TargetSizeSuite"/> (it takes as long as the rest of this one). Settings: <see cref="SpeculativeExperiments"/>, <see cref="ExpertPrefetchSettings"/>.
/// </summary>
public sealed class SpeculativeSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "speculative";

    /// <inheritdoc />
    public string Description => "lean cached decode step vs the previous one and vs the machine's limits; M2R2 self-speculative decoding: tokens/s vs plain greedy, acceptance vs early exit and a draft model; dynamic compute; AoT expert loading (speculation on grown targets: speculative-targets)";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        using var corpus = TextCorpus.MobyDick();
        using var model = PretrainedModels.LoadTinyMoby();
        var rows = new List<Measurement>(DecodeStepStudy.Run(model, SpeculativeExperiments.Prompts(corpus, quick ? 2 : 4), quick, log));
        int k = SpeculativeExperiments.ExitLayer;

        var (adapters, run) = SpeculativeExperiments.Accelerators(model, corpus, quick);
        using var _a = adapters;
        log.WriteLine($"accelerators for k={k}: {run}");
        var profile = LayerAnalysis.Measure(model, corpus, adapters);
        var atK = profile[k];
        rows.Add(new($"layer {k}: prediction equals the final layer's (M2R2 fast stream)", atK.FastAgreement!.Value * 100, "%", "slow stream (early exit)",
            atK.FastAgreement.Value / atK.Agreement, $"slow {atK.Agreement:P1}; exit loss {atK.Bits:F3} → {atK.FastBits:F3} bits/byte; accelerators {adapters.ParametersUpTo(k):N0} parameters, {run.Options.Steps} steps"));

        var (draft, draftRun) = SpeculativeExperiments.DraftModel(model, corpus, quick);
        using var _d = draft;
        log.WriteLine($"draft model: {draftRun}");
        rows.Add(new("draft model validation loss", draftRun.LastValidationLoss!.Value / Math.Log(2), "bits/byte", Note:
            $"{draft.Config.Layers} layers × {draft.Config.Dim}, {draft.ParameterCount:N0} parameters (target {model.ParameterCount:N0}), subcloned then {draftRun.Options.Steps} steps"));

        var prompts = SpeculativeExperiments.Prompts(corpus, quick ? 2 : 4);
        int tokens = SpeculativeExperiments.RaceTokens(quick);
        using var early = new SelfDrafter(k);
        using var m2r2 = new SelfDrafter(k, adapters);
        using var small = new ModelDrafter(draft);
        bool plainShown = false;
        foreach (var gamma in quick ? new[] { SpeculativeExperiments.Gamma } : new[] { 1, 2, 3, 4 })
        {
            var options = new SpeculationOptions { MaxNewTokens = tokens, Gamma = gamma };
            var lines = SpeculativeExperiments.Race(model, new Drafter[] { early, m2r2, small }, prompts, options, quick ? 1 : 3, s => log.WriteLine($"γ={gamma} {s}"));
            foreach (var l in lines.Skip(plainShown ? 1 : 0))
                rows.Add(new($"{l.Method}{(l.Method.StartsWith("plain") ? "" : $", γ={gamma}")}: decoding speed", l.TokensPerSecond, "tokens/s", "plain greedy (KV cache)", l.SpeedUp,
                    l.Method.StartsWith("plain") ? $"{prompts.Count} prompts × {tokens} tokens, batch 1"
                    : $"acceptance {l.AcceptanceRate:P1}, {l.MeanAcceptedLength:F2} tokens per full pass, drafting {l.DraftShare:P0} of the time; output {(l.SameAsPlain ? "equals" : "DIFFERS FROM")} plain greedy"));
            plainShown = true;
        }
        var adaptive = SpeculativeExperiments.Race(model, new Drafter[] { m2r2 }, prompts,
            new SpeculationOptions { MaxNewTokens = tokens, Gamma = 2, AdaptiveGamma = true, MaxGamma = 6 }, quick ? 1 : 3);
        var a = adaptive[1];
        rows.Add(new($"{a.Method}, adaptive γ (1..6): decoding speed", a.TokensPerSecond, "tokens/s", "plain greedy (KV cache)", a.SpeedUp,
            $"acceptance {a.AcceptanceRate:P1}, {a.MeanAcceptedLength:F2} tokens per full pass; output {(a.SameAsPlain ? "equals" : "DIFFERS FROM")} plain greedy"));

        var dynamic = SpeculativeExperiments.DynamicCompute(model, corpus, quick);
        using var _e = dynamic.Accelerators;
        using var _p = dynamic.Predictor;
        foreach (var p in dynamic.Points)
            rows.Add(new($"dynamic compute, {p.Method}, threshold {p.Threshold:0.00}: agreement with the full model", p.Agreement * 100, "%", Note:
                $"{p.MeanLayers:F2} of {p.Layers} layers per token ({p.ComputeShare:P0}); {p.Bits:F3} bits/byte"));

        // Ahead-of-time expert loading on the routed (DynaMoE) model.
        var aot = ExpertPrefetchStudy.Run(model, corpus, quick, stage: s => log.WriteLine($"expert prefetch: {s}"));
        if (aot is not null)
        {
            log.WriteLine(aot.ToTable());
            foreach (var acc in aot.Accuracy)
                rows.Add(new($"expert prediction from layer {aot.Settings.FromLayer}, {acc.Name}: exact", acc.MeanExact * 100, "%", Note:
                    $"covering (large enough to serve) {acc.MeanCovering:P1}; θ = {aot.Settings.Theta}, {aot.Traces.Tokens} validation tokens"));
            foreach (var r in aot.Rows)
                foreach (var p in r.Policies.Skip(1))
                    rows.Add(new($"expert cache of {r.CacheExperts} full experts, {p.Policy}: modelled latency per token", p.LatencyPerToken, "units", "on demand", p.SpeedUpOver(r.OnDemand),
                        $"hit rate {p.HitRate:P0} (on demand {r.OnDemand.HitRate:P0}); neurons loaded {p.NeuronsLoaded:N0} (on demand {r.OnDemand.NeuronsLoaded:N0}); slow tier {aot.Costs.LoadTimePerNeuron:0.#}× the fast"));
        }
        return rows;
    }
}
