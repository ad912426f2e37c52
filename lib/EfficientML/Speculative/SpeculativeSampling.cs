using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Speculative;

/// <summary>
/// The acceptance rules of speculative decoding. Greedy: the longest prefix of drafts equal to the target's argmax,
/// then the target's own token. Sampling (Leviathan et al., Chen et al.): accept draft x with probability
/// min(1, p(x)/q(x)); at the first rejection draw from normalise(max(0, p − q)); after γ acceptances draw from the
/// target's next distribution. The emitted tokens then follow the target's distribution exactly, whatever q is.
/// </summary>
public static class SpeculativeSampling
{
    /// <summary>Probabilities (…, V) in float32 from logits: softmax(logits / temperature), kept to the top k when k &gt; 0.</summary>
    public static Tensor Distribution(Tensor logits, double temperature, int topK = 0)
    {
        if (temperature <= 0) throw new InvalidSettingsException("Sampling needs a temperature above 0.");
        var scaled = logits.to(ScalarType.Float32) / temperature;
        if (topK > 0 && topK < scaled.shape[^1])
        {
            var kth = scaled.topk(topK).values.narrow(-1, topK - 1, 1);
            scaled = scaled.masked_fill(scaled < kth, double.NegativeInfinity);
        }
        return scaled.softmax(-1);
    }

    /// <summary>Greedy rule: how many of <paramref name="drafts"/> the target's argmax rows <paramref name="targetChoices"/> (n+1) confirm, and the target's token after them.</summary>
    public static (int Accepted, int Next) AcceptGreedy(IReadOnlyList<int> drafts, IReadOnlyList<long> targetChoices)
    {
        if (targetChoices.Count != drafts.Count + 1)
            throw new InvalidSettingsException($"Verification needs one target choice more than there are drafts ({drafts.Count}), not {targetChoices.Count}.");
        int a = 0;
        while (a < drafts.Count && drafts[a] == targetChoices[a]) a++;
        return (a, (int)targetChoices[a]);
    }

    /// <summary>
    /// Sampling rule: <paramref name="p"/> (n+1, V) the target's distributions, <paramref name="q"/> (n, V) the draft's,
    /// <paramref name="drafts"/> the n tokens drawn from q. Returns how many drafts are kept and the token drawn after them.
    /// </summary>
    public static (int Accepted, int Next) AcceptSampled(IReadOnlyList<int> drafts, Tensor p, Tensor? q, Generator generator)
    {
        int n = drafts.Count;
        if (p.shape[0] != n + 1) throw new InvalidSettingsException($"Verification needs {n + 1} target distributions, not {p.shape[0]}.");
        if (n > 0 && (q is null || q.shape[0] != n)) throw new InvalidSettingsException($"Each of the {n} drafts needs its draft distribution.");
        var pc = p.to(ScalarType.Float32).cpu();
        var qc = q?.to(ScalarType.Float32).cpu();
        for (int i = 0; i < n; i++)
        {
            int x = drafts[i];
            double px = pc[i, x].item<float>(), qx = qc![i, x].item<float>();
            double u = rand(new long[] { 1 }, generator: generator).item<float>();
            if (qx > 0 && u < Math.Min(1.0, px / qx)) continue;
            var residual = (pc[i] - qc[i]).clamp_min(0);
            var total = residual.sum().item<float>();
            // p == q to rounding: the residual is empty, and p itself is the right distribution.
            var from = total > 1e-12 ? residual / total : pc[i];
            return (i, Draw(from, generator));
        }
        return (n, Draw(pc[n], generator));
    }

    /// <summary>One token drawn from probabilities <paramref name="probabilities"/> (V).</summary>
    public static int Draw(Tensor probabilities, Generator generator) =>
        (int)probabilities.to(ScalarType.Float32).cpu().multinomial(1, generator: generator).item<long>();
}
