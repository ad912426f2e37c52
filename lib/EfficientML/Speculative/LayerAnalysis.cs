using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Text;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Speculative;

/// <summary>
/// How far one layer's state is from the end: <see cref="Agreement"/> = share of tokens whose shared-head prediction at
/// this layer equals the final layer's; <see cref="Distance"/> = ‖h_j − h_L‖ / ‖h_L‖; <see cref="Bits"/> = the exit
/// prediction's loss in bits per token. The Fast values are the same for M2R2's fast stream (null without accelerators
/// or beyond their deepest exit).
/// </summary>
public sealed record LayerProfile(int Layer, double Agreement, double Distance, double Bits,
    double? FastAgreement = null, double? FastDistance = null, double? FastBits = null);

/// <summary>The layer-wise view of the residual stream: how soon each layer's state already says what the last one says.</summary>
public static class LayerAnalysis
{
    /// <summary>
    /// Profiles every layer 0 … L of <paramref name="model"/> on up to <paramref name="batches"/> validation batches of
    /// <paramref name="corpus"/>; with <paramref name="adapters"/>, the fast stream too.
    /// </summary>
    public static IReadOnlyList<LayerProfile> Measure(TinyGpt model, TextCorpus corpus, AcceleratorAdapters? adapters = null,
        int batches = 4, int batchSize = 8, int blockSize = 128)
    {
        int layers = model.Config.Layers;
        adapters?.CheckFor(model.Config, adapters.MaxExit);
        var sums = new double[6, layers + 1];
        long tokens = 0;
        using var evalMode = new EvalMode(model);
        adapters?.eval();
        using var _ = no_grad();
        foreach (var (x, y) in corpus.EvaluationBatches(Split.Validation, batchSize, Math.Min(blockSize, model.Config.ContextLength), batches, model.Device))
        {
            using var scope = NewDisposeScope();
            var slow = model.HiddenStates(x);                                         // (L+1, B, T, C)
            var fast = adapters?.FastStates(slow);                                     // (E+1, B, T, C)
            var final = slow[-1];
            var finalChoice = model.Logits(final).argmax(-1);
            var finalNorm = final.pow(2).sum(-1).sqrt();
            for (int j = 0; j <= layers; j++)
            {
                Accumulate(sums, 0, j, model, slow[j], final, finalNorm, finalChoice, y);
                if (fast is not null && j <= adapters!.MaxExit) Accumulate(sums, 3, j, model, fast[j], final, finalNorm, finalChoice, y);
            }
            tokens += x.numel();
        }
        if (tokens == 0) throw new InvalidSettingsException("The corpus' validation split is shorter than one block; use a longer text.");
        return Enumerable.Range(0, layers + 1).Select(j =>
        {
            bool hasFast = adapters is not null && j <= adapters.MaxExit;
            return new LayerProfile(j, sums[0, j] / tokens, sums[1, j] / tokens, sums[2, j] / tokens / Math.Log(2),
                hasFast ? sums[3, j] / tokens : null, hasFast ? sums[4, j] / tokens : null, hasFast ? sums[5, j] / tokens / Math.Log(2) : null);
        }).ToList();
    }

    static void Accumulate(double[,] sums, int at, int layer, TinyGpt model, Tensor state, Tensor final, Tensor finalNorm, Tensor finalChoice, Tensor targets)
    {
        var logits = model.Logits(state);
        sums[at, layer] += logits.argmax(-1).eq(finalChoice).sum().item<long>();
        sums[at + 1, layer] += ((state - final).pow(2).sum(-1).sqrt() / finalNorm).sum().item<float>();
        sums[at + 2, layer] += F.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1), reduction: nn.Reduction.Sum).item<float>();
    }
}
