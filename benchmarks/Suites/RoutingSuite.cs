using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Text;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// DynaMoE on the pretrained tiny model: validation loss against MLP compute per token for a θ sweep of the routed
/// model and for static widths (same weights, and the elastic baseline fine-tuned with the same budget), and the
/// measured wall-clock speed-up of routed execution at the cheapest θ within 2% of the dense loss.
/// Settings: <see cref="RoutingExperiments"/>.
/// </summary>
public sealed class RoutingSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "routing";

    /// <inheritdoc />
    public string Description => "DynaMoE token-difficulty routing: loss vs MLP compute for a θ sweep and static widths; routed wall-clock speed-up";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        using var corpus = TextCorpus.MobyDick();
        using var pretrained = PretrainedModels.LoadTinyMoby();
        var rows = new List<Measurement>();
        var (routed, study) = RoutingExperiments.Study(pretrained, corpus, quick);
        using (routed)
        {
            var t = study.Run.Options;
            rows.Add(new("fine-tuning tokens (each run)", (double)t.Steps * t.BatchSize * t.BlockSize, "tokens", "pretraining tokens", study.FineTuningShare,
                $"{t.Steps} steps of {t.BatchSize}×{t.BlockSize}, lr {t.LearningRate:G2}; experts {study.Sizes}; tolerance {study.Options.Tolerance} nats"));
            rows.Add(new("router label cross-entropy after fine-tuning", study.RouterFitAfter.CrossEntropy, "nats", "before", study.RouterFitAfter.CrossEntropy / study.RouterFitBefore.CrossEntropy,
                $"before {study.RouterFitBefore.CrossEntropy:F3}; accuracy {study.RouterFitBefore.Accuracy:P0} → {study.RouterFitAfter.Accuracy:P0}"));
            var dense = study.Static[^1];
            foreach (var p in study.Routed.Concat(study.Static).Concat(study.Elastic ?? []))
            {
                var elasticLoss = study.Elastic is null ? null : RoutingStudy.InterpolatedLoss(study.Elastic, p.ComputeFraction);
                rows.Add(new($"{p.Method}: validation loss", p.ValidationBits, "bits/byte", "dense (θ = 1)", p.ValidationLoss / dense.ValidationLoss,
                    $"MLP compute {p.ComputeFraction:P1} of dense (active neurons {p.ActiveFraction:P1})" +
                    (p.Theta is null || elasticLoss is null ? "" : $"; elastic static widths at this compute: {elasticLoss.Value / Math.Log(2):F3} bits/byte")));
            }
            log.WriteLine(string.Join(Environment.NewLine, study.Routed.Select(p => $"{p.Method}: {p.ValidationBits:F3} bits/byte at {p.ComputeFraction:P1} compute")));
            var target = study.CheapestWithin(0.02);
            if (target?.Theta is double theta)
            {
                var speed = RoutingExperiments.Speed(routed, corpus, theta, quick);
                log.WriteLine($"θ={theta}: MLP {speed.DenseMlpMs:F1} → {speed.RoutedMlpMs:F1} ms, forward {speed.DenseForwardMs:F1} → {speed.RoutedForwardMs:F1} ms");
                rows.Add(new($"routed MLPs at θ={theta:0.00} (cheapest within 2% of dense): time", speed.RoutedMlpMs, "ms", "dense MLPs", speed.MlpSpeedUp,
                    $"{speed.Tokens} tokens, active neurons {speed.ActiveFraction:P1}; dense {speed.DenseMlpMs:F1} ms; routers, gather and scatter included"));
                rows.Add(new($"routed model at θ={theta:0.00}: forward time", speed.RoutedForwardMs, "ms", "dense model", speed.ForwardSpeedUp,
                    $"dense {speed.DenseForwardMs:F1} ms"));
            }
            else rows.Add(new("cheapest θ within 2% of dense", double.NaN, "θ", Note: "no routed variant is within 2% of the dense loss"));
        }
        return rows;
    }
}
