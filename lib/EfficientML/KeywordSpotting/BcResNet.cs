using EfficientML.Audio;
using EfficientML.Core;
using EfficientML.Reparam;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.KeywordSpotting;

/// <summary>
/// Sub-spectral norm: batch norm with separate statistics (and affine parameters) for each of S frequency sub-bands,
/// done by folding the sub-bands into channels: (B, C, F, T) → (B, C·S, F/S, T) → BN → back.
/// </summary>
public sealed class SubSpectralNorm : nn.Module<Tensor, Tensor>
{
    readonly BatchNorm2d bn;
    readonly int _channels, _subBands;

    /// <summary>Norm over <paramref name="channels"/> channels, <paramref name="subBands"/> bands (which must divide the bins).</summary>
    public SubSpectralNorm(int channels, int subBands) : base(nameof(SubSpectralNorm))
    {
        (_channels, _subBands) = (channels, subBands);
        bn = nn.BatchNorm2d(channels * subBands);
        RegisterComponents();
    }

    /// <summary>x (B, C, F, T) with F divisible by the sub-bands → same shape.</summary>
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], f = x.shape[2], t = x.shape[3];
        var banded = x.reshape(b, _channels * _subBands, f / _subBands, t);   // (B, C·S, F/S, T)
        return bn.forward(banded).reshape(b, _channels, f, t);                // (B, C, F, T)
    }
}

/// <summary>
/// A BC-ResBlock. Frequency-wise part f2: depthwise 3×1 conv (stride over frequency) + sub-spectral norm, giving x1
/// (B, C, F', T). Temporal part f1 on x1 averaged over frequency: depthwise 1×3 conv (dilated) + BN + Swish + 1×1 conv
/// + dropout, (B, C, 1, T), broadcast back over frequency. Normal block: relu(x + x1 + f1); a transition block (channels
/// change) first maps x with a 1×1 conv + BN + ReLU and has no identity shortcut: relu(x1 + f1).
/// </summary>
public sealed class BcResBlock : nn.Module<Tensor, Tensor>
{
    readonly Conv2d? expand;            // transition only: 1×1, in → out
    readonly BatchNorm2d? expand_bn;
    readonly Conv2d freq_dw;            // (3, 1), groups = out
    readonly SubSpectralNorm freq_norm;
    readonly Conv2d time_dw;            // (1, 3), dilation (1, d), groups = out
    readonly BatchNorm2d time_bn;
    readonly Conv2d time_pw;            // 1×1
    readonly Dropout dropout;

    /// <summary>Block from <paramref name="inChannels"/> to <paramref name="outChannels"/>; frequency stride, temporal dilation, sub-bands of its norm.</summary>
    public BcResBlock(int inChannels, int outChannels, int frequencyStride, int dilation, int subBands, double dropoutRate) : base(nameof(BcResBlock))
    {
        IsTransition = inChannels != outChannels;
        if (!IsTransition && frequencyStride != 1)
            throw new InvalidSettingsException("A BC-ResBlock with an identity shortcut cannot stride: change channels (a transition block) to stride.");
        if (IsTransition)
        {
            expand = nn.Conv2d(inChannels, outChannels, 1, bias: false);
            expand_bn = nn.BatchNorm2d(outChannels);
        }
        freq_dw = nn.Conv2d(outChannels, outChannels, (3, 1), stride: (frequencyStride, 1), padding: (1, 0), groups: outChannels, bias: false);
        freq_norm = new SubSpectralNorm(outChannels, subBands);
        time_dw = nn.Conv2d(outChannels, outChannels, (1, 3), padding: (0, dilation), dilation: (1, dilation), groups: outChannels, bias: false);
        time_bn = nn.BatchNorm2d(outChannels);
        time_pw = nn.Conv2d(outChannels, outChannels, 1, bias: false);
        dropout = nn.Dropout(dropoutRate);
        RegisterComponents();
    }

    /// <summary>Whether channels change (1×1 conv first, no identity shortcut).</summary>
    public bool IsTransition { get; }

    /// <summary>x (B, C_in, F, T) → (B, C_out, F', T).</summary>
    public override Tensor forward(Tensor x)
    {
        var h = IsTransition ? F.relu(expand_bn!.forward(expand!.forward(x))) : x;     // (B, C, F, T)
        var x1 = freq_norm.forward(freq_dw.forward(h));                                  // (B, C, F', T)
        var a = x1.mean([2], keepdim: true);                                             // (B, C, 1, T)
        a = dropout.forward(time_pw.forward(F.silu(time_bn.forward(time_dw.forward(a))))); // (B, C, 1, T)
        var y = x1 + a;                                                                  // broadcast over F'
        return F.relu(IsTransition ? y : y + x);
    }
}

/// <summary>
/// BC-ResNet keyword spotter (Kim et al. 2021), the baseline RepCNN is compared with. Takes log-mel features
/// (B, Mels, T) like <see cref="RepCnn"/> and works on them as a one-channel image (B, 1, Mels, T); see
/// <see cref="BcResNetConfig"/> for the layout. Time is never strided, so any frame count ≥ 1 works.
/// Simplifications: the head conv has no bias (a BN follows), the classifier's last 1×1 conv is a Linear after pooling
/// (the same function), and dropout is element-wise.
/// </summary>
public sealed class BcResNet : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d head;
    public readonly BatchNorm2d head_bn;
    public readonly ModuleList<BcResBlock> blocks;
    public readonly Conv2d classifier_dw;
    public readonly Conv2d classifier_pw;
    public readonly BatchNorm2d classifier_bn;
    public readonly Linear output;

    /// <summary>Builds a randomly initialised model on the CPU; with <paramref name="seed"/> the same weights every time.</summary>
    public BcResNet(BcResNetConfig config, long? seed = null) : base(nameof(BcResNet))
    {
        TorchNative.EnsureLoaded();
        Config = config.Validate();
        if (seed is long s) Seeding.Everything(s);
        head = nn.Conv2d(1, config.HeadChannels, (5, 5), stride: (2, 1), padding: (2, 2), bias: false);
        head_bn = nn.BatchNorm2d(config.HeadChannels);
        var list = new List<BcResBlock>();
        int channels = config.HeadChannels;
        int[] stageChannels = config.StageChannels, stageBins = config.StageBins;
        for (int stage = 0; stage < stageChannels.Length; stage++)
            for (int i = 0; i < BcResNetConfig.StageBlocks[stage]; i++)
            {
                int stride = i == 0 ? BcResNetConfig.StageStrides[stage] : 1;
                list.Add(new BcResBlock(channels, stageChannels[stage], stride, BcResNetConfig.StageDilations[stage],
                    config.SubBandsFor(stageBins[stage]), config.Dropout));
                channels = stageChannels[stage];
            }
        blocks = nn.ModuleList(list.ToArray());
        classifier_dw = nn.Conv2d(channels, channels, (config.ClassifierFrequencyKernel, 5), padding: (0, 2), groups: channels, bias: false);
        classifier_pw = nn.Conv2d(channels, config.ClassifierChannels, 1, bias: false);
        classifier_bn = nn.BatchNorm2d(config.ClassifierChannels);
        output = nn.Linear(config.ClassifierChannels, config.Classes);
        RegisterComponents();
    }

    /// <summary>The sizes this model was built with.</summary>
    public BcResNetConfig Config { get; }

    /// <summary>Trainable parameters (batch-norm running statistics are buffers, not counted).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Logits (B, Classes) for features (B, Mels, T).</summary>
    public override Tensor forward(Tensor features)
    {
        if (features.dim() != 3 || features.shape[1] != Config.Mels || features.shape[2] < 1)
            throw new InvalidSettingsException($"BcResNet expects log-mel features (batch, {Config.Mels}, frames ≥ 1); got shape [{string.Join(", ", features.shape)}].");
        var x = F.relu(head_bn.forward(head.forward(features.unsqueeze(1))));   // (B, 16τ, F0, T)
        foreach (var block in blocks) x = block.forward(x);                      // (B, C_s, F_s, T)
        x = classifier_dw.forward(x);                                            // (B, 20τ, F_s − 4, T)
        x = F.relu(classifier_bn.forward(classifier_pw.forward(x)));             // (B, 32τ, F'', T)
        return output.forward(x.mean([2, 3]));                                   // (B, Classes)
    }
}
