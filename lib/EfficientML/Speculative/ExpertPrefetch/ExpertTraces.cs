using EfficientML.Core;
using EfficientML.Routing;

namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>
/// How well one way of naming later blocks' experts ahead of time matches the experts used, per predicted block
/// (FromLayer … L−1, 0-based). <see cref="Exact"/> counts the same expert; <see cref="Covering"/> counts an expert at
/// least as large, which serves the token too (nested experts) at the price of loading more.
/// </summary>
/// <param name="Name">Which predictor.</param>
/// <param name="FromLayer">Blocks run before the prediction.</param>
/// <param name="Exact">Share of tokens whose expert was named exactly, one per predicted block.</param>
/// <param name="Covering">Share of tokens named an expert at least as large as theirs, one per predicted block.</param>
public sealed record ExpertPredictionAccuracy(string Name, int FromLayer, IReadOnlyList<double> Exact, IReadOnlyList<double> Covering)
{
    /// <summary>Exact accuracy averaged over the predicted blocks.</summary>
    public double MeanExact => Exact.Count == 0 ? 0 : Exact.Average();

    /// <summary>Covering accuracy averaged over the predicted blocks.</summary>
    public double MeanCovering => Covering.Count == 0 ? 0 : Covering.Average();

    /// <summary>Scores <paramref name="predicted"/> against <paramref name="experts"/> (both [layer, token]) on blocks <paramref name="fromLayer"/> … L−1.</summary>
    public static ExpertPredictionAccuracy Of(string name, int[,] experts, int[,] predicted, int fromLayer)
    {
        int layers = experts.GetLength(0), tokens = experts.GetLength(1);
        ExpertPredictor.CheckFromLayer(fromLayer, layers);
        if (predicted.GetLength(0) != layers || predicted.GetLength(1) != tokens)
            throw new InvalidSettingsException($"Predicted experts are [{predicted.GetLength(0)}, {predicted.GetLength(1)}] but the trace is [{layers}, {tokens}].");
        var exact = new double[layers - fromLayer];
        var covering = new double[layers - fromLayer];
        for (int l = fromLayer; l < layers; l++)
        {
            int same = 0, cover = 0;
            for (int t = 0; t < tokens; t++)
            {
                if (predicted[l, t] == experts[l, t]) same++;
                if (predicted[l, t] >= experts[l, t]) cover++;
            }
            exact[l - fromLayer] = tokens == 0 ? 0 : same / (double)tokens;
            covering[l - fromLayer] = tokens == 0 ? 0 : cover / (double)tokens;
        }
        return new ExpertPredictionAccuracy(name, fromLayer, exact, covering);
    }
}

/// <summary>
/// Experts used and experts named ahead of time over a sequence of tokens, all [layer, token] (tokens in text order);
/// rows of the predictions before <see cref="FromLayer"/> are unused (0).
/// </summary>
/// <param name="Sizes">The nested expert sizes.</param>
/// <param name="FromLayer">Blocks run before the prediction.</param>
/// <param name="Experts">The experts the routed model used.</param>
/// <param name="SlowState">The predictor on the slow (ordinary residual) state.</param>
/// <param name="FastState">The predictor on M2R2's fast state (null when no accelerators were given).</param>
/// <param name="SameAsLayerK">Baseline: every later block gets the expert the token used in layer k = FromLayer, the last block run
/// before the prediction (block FromLayer − 1, 0-based).</param>
/// <param name="MostFrequent">Baseline: every block gets its most frequent expert.</param>
public sealed record ExpertTraces(ExpertSizes Sizes, int FromLayer, int[,] Experts, int[,] SlowState, int[,]? FastState, int[,] SameAsLayerK, int[,] MostFrequent)
{
    /// <summary>Tokens traced.</summary>
    public int Tokens => Experts.GetLength(1);

    /// <summary>Layers traced.</summary>
    public int Layers => Experts.GetLength(0);

    /// <summary>Accuracy of every predictor and baseline: slow state, fast state (when traced), same as layer k, most frequent.</summary>
    public IReadOnlyList<ExpertPredictionAccuracy> Accuracy()
    {
        var list = new List<ExpertPredictionAccuracy> { ExpertPredictionAccuracy.Of("slow state", Experts, SlowState, FromLayer) };
        if (FastState is not null) list.Add(ExpertPredictionAccuracy.Of("fast state (M2R2)", Experts, FastState, FromLayer));
        list.Add(ExpertPredictionAccuracy.Of($"same as layer {FromLayer}", Experts, SameAsLayerK, FromLayer));
        list.Add(ExpertPredictionAccuracy.Of("most frequent", Experts, MostFrequent, FromLayer));
        return list;
    }

    /// <summary>Share of requests (token × block) that each expert received, [layer, expert].</summary>
    public double[,] Usage()
    {
        var usage = new double[Layers, Sizes.Count];
        for (int l = 0; l < Layers; l++)
            for (int t = 0; t < Tokens; t++) usage[l, Experts[l, t]] += 1.0 / Math.Max(1, Tokens);
        return usage;
    }
}
