using EfficientML.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientML.Reparam;

/// <summary>
/// RepCNN keyword spotter: log-mel features (B, Mels, T) → <see cref="RepBlock"/>s over time → global average over time
/// → dropout → Linear → logits (B, Classes). Train it multi-branch, then <see cref="Reparameterize"/> (in evaluation mode)
/// to deploy one conv + ReLU per block that computes the same logits. Any frame count ≥ 1 works ("same" padding).
/// </summary>
public sealed class RepCnn : nn.Module<Tensor, Tensor>
{
    public readonly ModuleList<RepBlock> blocks;
    public readonly Dropout dropout;
    public readonly Linear head;

    /// <summary>Builds a randomly initialised model on the CPU; with <paramref name="seed"/> the same weights every time.</summary>
    public RepCnn(RepCnnConfig config, long? seed = null) : base(nameof(RepCnn))
    {
        TorchNative.EnsureLoaded();
        Config = config.Validate();
        if (seed is long s) Seeding.Everything(s);
        int[] strides = config.BlockStrides, dilations = config.BlockDilations;
        blocks = nn.ModuleList(Enumerable.Range(0, config.Blocks)
            .Select(i => new RepBlock(config.BlockInput(i), config.Channels[i], config.KernelSize, strides[i], dilations[i], 1, config.Branches))
            .ToArray());
        dropout = nn.Dropout(config.Dropout);
        head = nn.Linear(config.Channels[^1], config.Classes);
        RegisterComponents();
    }

    /// <summary>The sizes this model was built with.</summary>
    public RepCnnConfig Config { get; }

    /// <summary>Shortest input this model accepts, in frames.</summary>
    public const int MinimumFrames = 1;

    /// <summary>True once every block is folded into one conv.</summary>
    public bool IsReparameterized => blocks.All(b => b.IsReparameterized);

    /// <summary>Trainable parameters (batch-norm running statistics are buffers, not counted).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Logits (B, Classes) for features (B, Mels, T).</summary>
    public override Tensor forward(Tensor features)
    {
        if (features.dim() != 3 || features.shape[1] != Config.Mels || features.shape[2] < MinimumFrames)
            throw new InvalidSettingsException($"RepCnn expects log-mel features (batch, {Config.Mels}, frames ≥ {MinimumFrames}); got shape [{string.Join(", ", features.shape)}].");
        var x = features;                                                        // (B, Mels, T)
        foreach (var block in blocks) x = block.forward(x);                      // (B, C_i, T_i)
        var pooled = x.mean([2]);                                                // (B, C)
        return head.forward(dropout.forward(pooled));                            // (B, Classes)
    }

    /// <summary>
    /// Folds every block into one conv with bias (see <see cref="RepBlock.Reparameterize"/>). The logits stay the same;
    /// the parameters drop. All or nothing: refuses, before folding any block, when the model or any of its parts is in
    /// training mode (call <c>model.eval()</c> first) or holds NaN or infinite weights or statistics.
    /// </summary>
    public RepCnn Reparameterize()
    {
        if (IsReparameterized) return this;
        RepBlock.RefuseInTraining(this);
        ModelHealth.EnsureFinite(this, "fold");
        foreach (var block in blocks) block.Reparameterize();
        return this;
    }
}
