using EfficientML.Core;
using EfficientML.Text;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Routing;

/// <summary>Validation loss and compute of routed and static-width variants of a <see cref="RoutedGpt"/>.</summary>
public static class RoutingEvaluation
{
    /// <summary>Sensitivities of the default sweep: 0, 0.1, …, 1.</summary>
    public static IReadOnlyList<double> DefaultThetas { get; } = Enumerable.Range(0, 11).Select(i => i / 10.0).ToArray();

    /// <summary>
    /// Runs <paramref name="routed"/> with <paramref name="choice"/> over the first validation windows (16 × context) and
    /// reports loss, expert usage per layer and MLP compute per token.
    /// </summary>
    public static RoutingPoint Evaluate(RoutedGpt routed, TextCorpus corpus, ExpertChoice choice, int? evalBatches = 8, string? method = null)
    {
        method ??= choice switch
        {
            ExpertChoice.Routed r => $"routed θ={r.Theta:0.00}",
            ExpertChoice.Static s => $"static {routed.Sizes.Fraction(s.Expert):P0}",
            _ => "given experts",
        };
        return Evaluate(routed, corpus, (_, _) => choice, choice is ExpertChoice.Routed, evalBatches, method, (choice as ExpertChoice.Routed)?.Theta, (choice as ExpertChoice.Static)?.Expert);
    }

    /// <summary>
    /// The oracle: every validation token routed by its own difficulty label (which knows the next token, so no router
    /// could match it), with <paramref name="tolerance"/>. What routing could give at best with these weights — and,
    /// against the static widths, how much mixing widths inside one sequence costs through attention.
    /// </summary>
    public static RoutingPoint Oracle(RoutedGpt routed, TextCorpus corpus, double tolerance, int? evalBatches = 8) =>
        Evaluate(routed, corpus,
            (x, y) => new ExpertChoice.Given(DifficultyLabels.PerLayer(DifficultyLabels.Compute(routed, x, y, tolerance), routed.Config.Layers)),
            routersCounted: false, evalBatches, $"labels as experts (oracle), tolerance {tolerance:0.###}", null, null);

    static RoutingPoint Evaluate(RoutedGpt routed, TextCorpus corpus, Func<Tensor, Tensor, ExpertChoice> choiceFor, bool routersCounted,
        int? evalBatches, string method, double? theta, int? expert)
    {
        var sizes = routed.Sizes;
        int layers = routed.Config.Layers;
        var counts = new double[layers, sizes.Count];
        double total = 0;
        long tokens = 0;
        Trainer.Evaluate(routed, () =>
        {
            foreach (var (x, y) in corpus.EvaluationBatches(Split.Validation, 16, routed.Config.ContextLength, evalBatches, routed.Device))
            {
                using var scope = NewDisposeScope();
                using var output = routed.Run(x, choiceFor(x, y));
                var logits = output.Logits;
                total += F.cross_entropy(logits.reshape(-1, logits.shape[^1]), y.reshape(-1)).item<float>() * y.numel();
                tokens += y.numel();
                for (int l = 0; l < layers; l++)
                {
                    var c = output.Experts[l].reshape(-1).bincount(null, minlength: sizes.Count).cpu().data<long>().ToArray();
                    for (int j = 0; j < sizes.Count; j++) counts[l, j] += c[j];
                }
            }
            return 0;
        });
        var usage = Enumerable.Range(0, layers).Select(l =>
        {
            var row = Enumerable.Range(0, sizes.Count).Select(j => counts[l, j]).ToArray();
            var sum = row.Sum();
            return row.Select(c => sum > 0 ? c / sum : 0).ToArray();
        }).ToArray();
        long d = routed.Config.Dim;
        double mlp = usage.Sum(row => row.Select((share, j) => share * 2 * d * sizes.Neurons[j]).Sum());
        double router = routersCounted ? routed.routers.Sum(r => (double)r.MultiplyAddsPerToken) : 0;
        double dense = layers * 2.0 * d * sizes.Width;
        return new RoutingPoint(method, theta, expert, tokens == 0 ? double.NaN : total / tokens, usage, mlp, router, dense);
    }

    /// <summary>The routed model at each sensitivity in <paramref name="thetas"/> (default 0, 0.1, …, 1).</summary>
    public static IReadOnlyList<RoutingPoint> Sweep(RoutedGpt routed, TextCorpus corpus, IEnumerable<double>? thetas = null, int? evalBatches = 8) =>
        (thetas ?? DefaultThetas).Select(t => Evaluate(routed, corpus, ExpertChoice.AtTheta(t), evalBatches)).ToList();

    /// <summary>Every static width of the same weights, smallest first; <paramref name="label"/> names the weights in the method.</summary>
    public static IReadOnlyList<RoutingPoint> StaticWidths(RoutedGpt routed, TextCorpus corpus, string label, int? evalBatches = 8) =>
        Enumerable.Range(0, routed.Sizes.Count)
            .Select(j => Evaluate(routed, corpus, new ExpertChoice.Static(j), evalBatches, $"static {routed.Sizes.Fraction(j):P0} ({label})"))
            .ToList();

    /// <summary>
    /// Mean cross-entropy (nats) of the routers' predictions against the difficulty labels on the first validation windows,
    /// and the routers' accuracy: how well they have learnt the labels.
    /// </summary>
    public static (double CrossEntropy, double Accuracy) RouterFit(RoutedGpt routed, TextCorpus corpus, double tolerance, int? evalBatches = 4)
    {
        double ce = 0, correct = 0;
        long count = 0;
        Trainer.Evaluate(routed, () =>
        {
            foreach (var (x, y) in corpus.EvaluationBatches(Split.Validation, 16, routed.Config.ContextLength, evalBatches, routed.Device))
            {
                using var scope = NewDisposeScope();
                var labels = DifficultyLabels.PerLayer(DifficultyLabels.Compute(routed, x, y, tolerance), routed.Config.Layers);
                using var output = routed.Run(x, new ExpertChoice.Given(labels), withRouterLogits: true);
                var logits = output.RouterLogits!.reshape(-1, routed.Sizes.Count);
                var flat = labels.reshape(-1);
                ce += F.cross_entropy(logits, flat).item<float>() * flat.numel();
                correct += logits.argmax(-1).eq(flat).sum().item<long>();
                count += flat.numel();
            }
            return 0;
        });
        return (ce / count, correct / count);
    }
}
