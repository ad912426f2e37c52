using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Speculative;

/// <summary>One operating point of per-token early exit without verification.</summary>
/// <param name="Method">"early exit (confidence)" or "M2R2 (exit predictor)".</param>
/// <param name="Threshold">Exit when the score reaches this.</param>
/// <param name="MeanLayers">Blocks run per token on average.</param>
/// <param name="Layers">Blocks of the full model.</param>
/// <param name="Agreement">Share of tokens whose prediction equals the full model's.</param>
/// <param name="Bits">Loss of the exit predictions, bits per token.</param>
public sealed record DynamicComputePoint(string Method, double Threshold, double MeanLayers, int Layers, double Agreement, double Bits)
{
    /// <summary>Blocks run as a share of the full model's.</summary>
    public double ComputeShare => MeanLayers / Layers;
}

/// <summary>
/// Dynamic-compute mode: every token leaves the model at the first layer whose exit score reaches a threshold and is
/// predicted there; no verification, so the text changes. Distance-based baseline: the shared head's top probability on
/// the slow state (CALM-style confidence). M2R2: the <see cref="ExitPredictor"/> on the fast state. A token that has
/// exited keeps its slow state of the exit layer, and deeper layers compute its keys and values from that state (state
/// propagation, as in CALM), so later tokens still attend to it; the fast state only makes the prediction (keys computed
/// from a state pushed toward the final layer would be far from anything the deeper layers were trained on); this is evaluated layer by layer over whole sequences, exactly as token-by-token
/// decoding with that rule would compute it.
/// </summary>
public static class DynamicCompute
{
    /// <summary>Evaluates the confidence-based early exit at each of <paramref name="thresholds"/>.</summary>
    public static IReadOnlyList<DynamicComputePoint> EarlyExit(TinyGpt model, TextCorpus corpus, IEnumerable<double> thresholds, int batches = 4, int batchSize = 8, int blockSize = 128) =>
        thresholds.Select(t => Evaluate(model, null, null, t, corpus, batches, batchSize, blockSize)).ToList();

    /// <summary>Evaluates M2R2's exit predictor on the fast stream at each of <paramref name="thresholds"/>.</summary>
    public static IReadOnlyList<DynamicComputePoint> M2R2(TinyGpt model, AcceleratorAdapters adapters, ExitPredictor predictor, TextCorpus corpus,
        IEnumerable<double> thresholds, int batches = 4, int batchSize = 8, int blockSize = 128) =>
        thresholds.Select(t => Evaluate(model, adapters, predictor, t, corpus, batches, batchSize, blockSize)).ToList();

    /// <summary>One threshold: with <paramref name="predictor"/> null, the confidence rule on slow states.</summary>
    public static DynamicComputePoint Evaluate(TinyGpt model, AcceleratorAdapters? adapters, ExitPredictor? predictor, double threshold,
        TextCorpus corpus, int batches = 4, int batchSize = 8, int blockSize = 128)
    {
        if (double.IsNaN(threshold) || threshold < 0 || threshold > 1)
            throw new InvalidSettingsException($"The exit threshold is a probability in 0..1, not {threshold}.");
        if (predictor is not null && predictor.MaxExit != model.Config.Layers - 1)
            throw new InvalidSettingsException($"The exit predictor serves exits 1..{predictor.MaxExit}; the model needs 1..{model.Config.Layers - 1}.");
        adapters?.CheckFor(model.Config, adapters.MaxExit);
        int layers = model.Config.Layers;
        double agree = 0, nats = 0, used = 0;
        long tokens = 0;
        using var evalMode = new EvalMode(model);
        using var _ = no_grad();
        foreach (var (x, y) in corpus.EvaluationBatches(Split.Validation, batchSize, Math.Min(blockSize, model.Config.ContextLength), batches, model.Device))
        {
            using var scope = NewDisposeScope();
            var full = model.Forward(x).argmax(-1);
            var (logits, depth) = Run(model, adapters, predictor, threshold, x);
            agree += logits.argmax(-1).eq(full).sum().item<long>();
            nats += F.cross_entropy(logits.reshape(-1, logits.shape[^1]), y.reshape(-1), reduction: nn.Reduction.Sum).item<float>();
            used += depth.sum().item<long>();
            tokens += x.numel();
        }
        string method = predictor is null ? "early exit (confidence)" : "M2R2 (exit predictor)";
        return new DynamicComputePoint(method, threshold, used / tokens, layers, agree / tokens, nats / tokens / Math.Log(2));
    }

    /// <summary>Logits (B, T, V) each from its token's exit layer, and the blocks each token ran (B, T).</summary>
    public static (Tensor Logits, Tensor Depth) Run(TinyGpt model, AcceleratorAdapters? adapters, ExitPredictor? predictor, double threshold, Tensor idx)
    {
        int layers = model.Config.Layers;
        var x = model.Hidden(idx, exitAfter: 0);
        var exited = zeros(idx.shape, dtype: ScalarType.Bool, device: idx.device);
        var depth = full(idx.shape, layers, dtype: ScalarType.Int64, device: idx.device);
        Tensor? logitsOut = null;
        Tensor? accelerated = null;                                            // Σ A_i(h_{i+1}) so far
        for (int l = 0; l < layers - 1; l++)
        {
            var next = model.blocks[l].Forward(x, null, l, 0);
            x = where(exited.unsqueeze(-1), x, next);
            int j = l + 1;
            var state = x;
            if (adapters is not null && j <= adapters.MaxExit)
            {
                var a = adapters.adapters[l].forward(x);
                accelerated = accelerated is null ? a : accelerated + a;
                state = x + accelerated;
            }
            var logits = model.Logits(state);
            logitsOut ??= zeros_like(logits);
            var score = predictor is null ? logits.softmax(-1).max(-1).values : predictor.Logit(state, j).sigmoid();
            var leave = score.ge(threshold).logical_and(exited.logical_not());
            logitsOut = where(leave.unsqueeze(-1), logits, logitsOut);
            depth = where(leave, full_like(depth, j), depth);
            exited = exited.logical_or(leave);
        }
        x = model.blocks[layers - 1].Forward(x, null, layers - 1, 0);
        var last = model.Logits(x);
        return (where(exited.unsqueeze(-1), logitsOut ?? last, last), depth);
    }
}
