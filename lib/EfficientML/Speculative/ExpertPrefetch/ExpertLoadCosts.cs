using EfficientML.Core;
using EfficientML.Models;

namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>
/// The time model of <see cref="ExpertCacheSimulation"/>, for one decoded token. The unit of time is the time the fast tier
/// (HBM on a GPU, DRAM on a phone) takes to stream the weights of one MLP neuron (its row of the up-projection and its
/// column of the down-projection, 2·C numbers): decoding one token at batch 1 is bound by memory bandwidth, so computing
/// a layer costs about as long as reading its weights once from the fast tier.
/// </summary>
/// <remarks>
/// Each layer runs its attention part (<see cref="AttentionTime"/>: attention, norms, router) and then its MLP, which
/// needs the token's expert in the fast tier and costs <see cref="NeuronTime"/> per neuron of that expert. A neuron
/// missing from the fast tier is copied from the slow tier at <see cref="LoadTimePerNeuron"/>.
/// </remarks>
public sealed record ExpertLoadCosts
{
    /// <summary>
    /// Default slow-tier slowdown: 5. A GH200-class GPU reads HBM3 at about 4 TB/s and its host LPDDR5X over NVLink-C2C at
    /// about 0.9 TB/s (≈ 4.5×); a PCIe 5 x16 host link (≈ 60 GB/s) is ≈ 60× slower than HBM, and phone flash (UFS 4,
    /// ≈ 4 GB/s) ≈ 15× slower than LPDDR5. At 5× a missing expert costs a few layers' compute, the regime where loading
    /// ahead of time can hide it; at 60× loads dominate whatever the policy, and only the hit rate matters.
    /// </summary>
    public const double DefaultSlowdown = 5;

    /// <summary>Time of everything in a layer but the MLP (attention, norms, router) for one token; default: TinyMoby's 256.</summary>
    public double AttentionTime { get; init; } = 256;

    /// <summary>MLP time per active neuron for one token (reading its weights from the fast tier): the unit, 1.</summary>
    public double NeuronTime { get; init; } = 1;

    /// <summary>Time to copy one neuron's weights from the slow tier into the fast one; default <see cref="DefaultSlowdown"/>.</summary>
    public double LoadTimePerNeuron { get; init; } = DefaultSlowdown;

    /// <summary>
    /// Costs for <paramref name="config"/>: the attention part costs its weights (query, key, value and output
    /// projections) in neuron-equivalents of 2·C numbers, so 2·C for full multi-head attention; loads cost
    /// <paramref name="slowdown"/> per neuron.
    /// </summary>
    public static ExpertLoadCosts For(TinyGptConfig config, double slowdown = DefaultSlowdown)
    {
        ArgumentNullException.ThrowIfNull(config);
        double c = config.Dim, kv = c * config.KvHeads / config.Heads;
        return new ExpertLoadCosts { AttentionTime = (c * c + 2 * c * kv + c * c) / (2 * c), NeuronTime = 1, LoadTimePerNeuron = slowdown }.Validate();
    }

    /// <summary>Throws one clear message for a cost that cannot work.</summary>
    public ExpertLoadCosts Validate()
    {
        static void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid expert load costs: {message}"); }
        Need(AttentionTime >= 0 && double.IsFinite(AttentionTime), $"AttentionTime must be 0 or more (a time per layer per token), not {AttentionTime}.");
        Need(NeuronTime >= 0 && double.IsFinite(NeuronTime), $"NeuronTime must be 0 or more (a time per MLP neuron), not {NeuronTime}.");
        Need(LoadTimePerNeuron >= 0 && double.IsFinite(LoadTimePerNeuron),
            $"LoadTimePerNeuron must be 0 or more (the slow tier's time per neuron, e.g. {DefaultSlowdown}), not {LoadTimePerNeuron}.");
        return this;
    }
}
