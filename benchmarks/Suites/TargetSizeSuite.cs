using EfficientML.Models;
using EfficientML.Speculative;
using EfficientML.Text;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// Where speculative decoding pays: the pretrained model's M2R2 accelerators
/// for exits 1 … 4, then <see cref="TargetSizeStudy"/> on targets grown ×1, ×2, ×4, ×6 by HyperCloning, exact copies and
/// briefly fine-tuned copies (whose accelerators are then trained on them), with the small model, early exit and M2R2
/// drafting at fixed and adaptive γ, and each target's per-draft acceptance at every exit.
/// </summary>
public sealed class TargetSizeSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "speculative-targets";

    /// <inheritdoc />
    public string Description => "speculative decoding on HyperCloned targets ×1…×6: tokens/s vs plain greedy per drafter and γ, predicted beside measured";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        using var corpus = TextCorpus.MobyDick();
        using var model = PretrainedModels.LoadTinyMoby();
        var (adapters, run) = SpeculativeExperiments.Accelerators(model, corpus, quick, everyExit: true);
        using var _ = adapters;
        log.WriteLine($"accelerators for k=1..{SpeculativeExperiments.ExitLayer}: {run}");
        var widest = (quick ? TargetSizeOptions.Quick : new TargetSizeOptions()).WidthFactors.Max();
        return VerificationRowCost.Rows(model.Config, widest, quick, log).Concat(Rows(model, corpus, adapters, quick, log)).ToList();
    }

    /// <summary>
    /// Targets grown by HyperCloning (exact copies, and briefly fine-tuned copies) decoded with the small pretrained model
    /// as draft, with early exit and with M2R2 (the accelerators above, grown with the target): tokens/s against plain
    /// cached greedy decoding of the same target, acceptance, and the cost model's prediction from the measured step costs.
    /// </summary>
    internal static IEnumerable<Measurement> Rows(TinyGpt model, TextCorpus corpus, AcceleratorAdapters adapters, bool quick, TextWriter log)
    {
        var options = quick ? TargetSizeOptions.Quick : new TargetSizeOptions();
        var study = TargetSizeStudy.Run(model, SpeculativeExperiments.Prompts(corpus, options.Prompts), corpus, options, adapters, s => log.WriteLine($"target size: {s}"));
        log.WriteLine(study.ToTable());
        foreach (var c in study.Costs)
            yield return new($"{c.Target} target ({c.Parameters:N0} parameters): plain cached decode step", c.PlainStep, "ms", Note:
                string.Join("; ", c.Drafters.Select(d => $"{d.Drafter} step {d.Step:F3} ms, verify γ+1 tokens " + string.Join("/", d.Verify.Values.Select(v => v.ToString("F2"))) + " ms")));
        foreach (var p in study.Points)
            yield return new($"{p.Target} target, {p.Drafter}, γ={(p.Adaptive ? $"adaptive ≤ {p.Gamma}" : p.Gamma)}: decoding speed", p.TokensPerSecond, "tokens/s", $"plain greedy on the {p.Target} target", p.SpeedUp,
                $"predicted {p.PredictedSpeedUp:F2}×; plain {p.PlainTokensPerSecond:F1} tokens/s; acceptance {p.Acceptance:P1}, {p.TokensPerRound:F2} tokens per pass" +
                (p.Adaptive ? $", {p.MeanGamma:F2} drafts per round; " : "; ") +
                $"draft step {p.DraftCost:F3} and verification {p.VerifyCost:F2} plain steps; output equals plain greedy");
        foreach (var d in study.Drafters)
            foreach (var tuned in study.Points.Select(p => p.FineTuned).Distinct())
            {
                var best = study.Points.Where(p => p.Drafter == d && p.FineTuned == tuned).MaxBy(p => p.SpeedUp)!;
                yield return new($"{d}{(tuned ? ", fine-tuned targets" : ", exact-copy targets")}: best speed-up", best.SpeedUp, "×", Note:
                    $"at {best.Target}, γ={best.GammaLabel} (predicted {best.PredictedSpeedUp:F2}×); crosses 1× at " +
                    (study.CrossesOneAt(d, tuned) is int n ? $"width ×{n}" : "no measured width") + $"; the paper reports {TargetSizeStudyResult.PaperSpeedUp}× for M2R2");
            }
        foreach (var p in study.ExitAcceptance ?? [])
        {
            yield return new($"{p.Target} target, exit k={p.Exit}: per-draft acceptance, early exit", 100 * p.EarlyExit, "%",
                Note: $"top-1 agreement of the layer-{p.Exit} head with the target on {ExitAcceptancePoint.Batches} validation batches of 8×128 bytes");
            if (p.M2R2 is double m)
                yield return new($"{p.Target} target, exit k={p.Exit}: per-draft acceptance, M2R2", 100 * m, "%",
                    Note: (p.WidthFactor > 1 ? "accelerators trained on the small model, grown with the target" : "accelerators trained on this model") +
                          (p.M2R2Trained is double t ? $"; {100 * t:F1} % after {study.Options.AcceleratorSteps} steps of training on this target" : ""));
        }
        foreach (var r in study.AcceleratorTuning ?? [])
            log.WriteLine($"accelerators trained on a fine-tuned target: {r}");
    }
}
