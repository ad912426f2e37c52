using EfficientML.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Reparam;

/// <summary>Which branches a <see cref="RepBlock"/> trains with. Both fold to the same deploy graph.</summary>
public enum BranchSet
{
    /// <summary>k-wide conv + BN, 1-wide conv + BN, and identity BN where in == out and stride 1 (RepCNN).</summary>
    MultiBranch,

    /// <summary>Only the k-wide conv + BN: the uni-branch baseline with the same runtime.</summary>
    SingleBranch,
}

/// <summary>
/// A re-parameterisable 1-D convolution block over time (channels = features). Training form: parallel branches
/// on the same input, summed, then ReLU:
/// <code>relu( BN(conv_k(x)) + BN(conv_1(x)) + BN(x) )</code>
/// <see cref="Reparameterize"/> folds every BN into its conv, zero-pads the 1-wide kernel to k, writes the identity as
/// a one-hot kernel and sums them into ONE conv with bias: deploy form <c>relu(conv(x))</c>, the same function.
/// </summary>
public sealed class RepBlock : nn.Module<Tensor, Tensor>
{
    Conv1d? conv_k;          // (out, in/g, k), no bias
    BatchNorm1d? bn_k;
    Conv1d? conv_1;          // (out, in/g, 1), no bias
    BatchNorm1d? bn_1;
    BatchNorm1d? bn_identity;
    Conv1d? reparam;         // (out, in/g, k) with bias, after folding

    /// <summary>Builds the training form. <paramref name="kernelSize"/> must be odd ("same" padding d·(k−1)/2).</summary>
    public RepBlock(int inChannels, int outChannels, int kernelSize, int stride = 1, int dilation = 1, int groups = 1,
        BranchSet branches = BranchSet.MultiBranch) : base(nameof(RepBlock))
    {
        void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid RepBlock: {message}"); }
        Need(inChannels > 0 && outChannels > 0, $"channels must be positive (got {inChannels} → {outChannels}).");
        Need(kernelSize > 0 && kernelSize % 2 == 1, $"kernel size must be odd so the 1-wide and identity kernels sit at its centre (got {kernelSize}).");
        Need(stride > 0 && dilation > 0, $"stride and dilation must be positive (got {stride}, {dilation}).");
        Need(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
            $"groups ({groups}) must divide both in ({inChannels}) and out ({outChannels}) channels.");
        TorchNative.EnsureLoaded();
        (InChannels, OutChannels, KernelSize, Stride, Dilation, Groups, Branches) =
            (inChannels, outChannels, kernelSize, stride, dilation, groups, branches);
        Padding = dilation * (kernelSize - 1) / 2;
        HasIdentity = branches == BranchSet.MultiBranch && inChannels == outChannels && stride == 1;
        conv_k = nn.Conv1d(inChannels, outChannels, kernelSize, stride: stride, padding: Padding, dilation: dilation, groups: groups, bias: false);
        bn_k = nn.BatchNorm1d(outChannels);
        if (branches == BranchSet.MultiBranch)
        {
            conv_1 = nn.Conv1d(inChannels, outChannels, 1, stride: stride, groups: groups, bias: false);
            bn_1 = nn.BatchNorm1d(outChannels);
        }
        if (HasIdentity) bn_identity = nn.BatchNorm1d(outChannels);
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Width k of the main kernel (and of the folded one).</summary>
    public int KernelSize { get; }
    /// <summary>Stride over time.</summary>
    public int Stride { get; }
    /// <summary>Dilation of the k-wide kernel.</summary>
    public int Dilation { get; }
    /// <summary>Convolution groups (in channels = groups for depthwise).</summary>
    public int Groups { get; }
    /// <summary>Zero padding on each side of time: d·(k−1)/2, so stride 1 keeps the length.</summary>
    public int Padding { get; }
    /// <summary>Branches of the training form.</summary>
    public BranchSet Branches { get; }
    /// <summary>Whether the training form has the identity (BN only) branch: multi-branch, in == out, stride 1.</summary>
    public bool HasIdentity { get; }
    /// <summary>True once <see cref="Reparameterize"/> has folded the branches into one conv.</summary>
    public bool IsReparameterized => reparam is not null;
    /// <summary>The single folded conv (null before folding).</summary>
    public Conv1d? FoldedConv => reparam;

    /// <summary>Output length for <paramref name="frames"/> input frames.</summary>
    public int OutputFrames(int frames) => (frames + 2 * Padding - Dilation * (KernelSize - 1) - 1) / Stride + 1;

    /// <summary>x (B, in, T) → (B, out, T') with T' = ⌊(T − 1)/stride⌋ + 1.</summary>
    public override Tensor forward(Tensor x)
    {
        if (reparam is not null) return F.relu(reparam.forward(x));          // (B, out, T')
        var y = bn_k!.forward(conv_k!.forward(x));                             // (B, out, T')
        if (conv_1 is not null) y = y + bn_1!.forward(conv_1.forward(x));      // (B, out, T')
        if (bn_identity is not null) y = y + bn_identity.forward(x);           // (B, out, T)
        return F.relu(y);
    }

    /// <summary>
    /// Folds the branches into one conv with bias, in place: forward becomes conv → ReLU and computes the same outputs.
    /// Only in evaluation mode, because folding uses the batch-norm running statistics.
    /// </summary>
    public void Reparameterize()
    {
        if (IsReparameterized) return;
        RefuseInTraining(this);
        var (weight, bias) = SumOf(FoldTensors());
        using (weight) using (bias)
        {
            var folded = nn.Conv1d(InChannels, OutChannels, KernelSize, stride: Stride, padding: Padding, dilation: Dilation, groups: Groups, bias: true);
            using (no_grad())
            {
                folded.weight!.copy_(weight);
                folded.bias!.copy_(bias);
            }
            folded.to(weight.device);
            folded.eval();
            foreach (var name in new[] { nameof(conv_k), nameof(bn_k), nameof(conv_1), nameof(bn_1), nameof(bn_identity) })
                register_module(name, null!);                                  // a null module unregisters the name
            foreach (var m in new nn.Module?[] { conv_k, bn_k, conv_1, bn_1, bn_identity }) m?.Dispose();
            (conv_k, bn_k, conv_1, bn_1, bn_identity) = (null, null, null, null, null);
            reparam = folded;
            register_module(nameof(reparam), reparam);
        }
    }

    /// <summary>
    /// The per-branch kernels after folding each BN (k-wide, 1-wide zero-padded to k, identity as one-hot), as plain
    /// arrays: their sum is the folded kernel. For teaching; evaluation mode only, before <see cref="Reparameterize"/>.
    /// </summary>
    public RepBranchKernels FoldedBranches()
    {
        if (IsReparameterized)
            throw new EfficientMLException("The block is already re-parameterised: its branches are gone. Call FoldedBranches before Reparameterize.");
        RefuseInTraining(this);
        ModelHealth.EnsureFinite(this, "picture the kernels of"); // NaN kernels would draw as a calm grey
        using var scope = NewDisposeScope();
        var branches = FoldTensors();
        int inPerGroup = InChannels / Groups;
        BranchKernel Plain(string name, (Tensor W, Tensor b) t) =>
            new(name, t.W.to(ScalarType.Float32).cpu().data<float>().ToArray(), t.b.to(ScalarType.Float32).cpu().data<float>().ToArray(),
                OutChannels, inPerGroup, KernelSize);
        return new RepBranchKernels(
            Plain($"{KernelSize}-wide conv + BN", branches[0]),
            branches.Count > 1 ? Plain($"1-wide conv + BN, zero-padded to {KernelSize}", branches[1]) : null,
            branches.Count > 2 ? Plain("identity BN as a one-hot kernel", branches[2]) : null);
    }

    /// <summary>Throws the one message for folding in training mode.</summary>
    /// <summary>Refuses when <paramref name="module"/> or any part of it is in training mode (checked before anything is folded).</summary>
    internal static void RefuseInTraining(nn.Module module)
    {
        var training = module.training ? "" : module.named_modules().FirstOrDefault(m => m.module.training).name;
        if (training != null)
            throw new EfficientMLException(
                $"Cannot re-parameterise a model in training mode{(training == "" ? "" : $" ({training} is)")}: call model.eval() first: " +
                "folding uses the batch-norm running statistics.");
    }

    /// <summary>(weight (out, in/g, k), bias (out)) of each branch with its BN folded in, in float64: k-wide, 1-wide, identity.</summary>
    List<(Tensor W, Tensor b)> FoldTensors()
    {
        using var _ = no_grad();
        var list = new List<(Tensor, Tensor)> { FoldBatchNorm(conv_k!.weight!, bn_k!) };
        if (conv_1 is not null)
        {
            var (w1, b1) = FoldBatchNorm(conv_1.weight!, bn_1!);
            int side = KernelSize / 2;
            list.Add((F.pad(w1, [side, side]), b1));                          // centre tap of k
            w1.Dispose();
        }
        if (bn_identity is not null)
        {
            using var oneHot = IdentityKernel(bn_identity.running_mean!.device);
            list.Add(FoldBatchNorm(oneHot, bn_identity));
        }
        return list;
    }

    /// <summary>W' = W·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε), per output channel.</summary>
    static (Tensor W, Tensor b) FoldBatchNorm(Tensor weight, BatchNorm1d bn)
    {
        using var scope = NewDisposeScope();
        var mean = bn.running_mean!.to(ScalarType.Float64);
        var std = (bn.running_var!.to(ScalarType.Float64) + bn.eps).sqrt();
        var gamma = bn.weight!.to(ScalarType.Float64);
        var beta = bn.bias!.to(ScalarType.Float64);
        var t = gamma / std;                                                   // (out)
        var w = weight.to(ScalarType.Float64) * t.view(-1, 1, 1);              // (out, in/g, kw)
        var b = beta - mean * t;                                               // (out)
        return (w.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope());
    }

    /// <summary>Identity as a conv kernel (out, in/g, k): output o reads its own input channel (index o mod in/g in its group) at the centre tap.</summary>
    Tensor IdentityKernel(Device device)
    {
        int inPerGroup = InChannels / Groups;
        var values = new double[OutChannels * inPerGroup * KernelSize];
        for (int o = 0; o < OutChannels; o++)
            values[(o * inPerGroup + o % inPerGroup) * KernelSize + KernelSize / 2] = 1;
        return tensor(values, [OutChannels, inPerGroup, KernelSize], ScalarType.Float64, device);
    }

    static (Tensor W, Tensor b) SumOf(List<(Tensor W, Tensor b)> branches)
    {
        using var scope = NewDisposeScope();
        var w = branches[0].W;
        var b = branches[0].b;
        for (int i = 1; i < branches.Count; i++) { w = w + branches[i].W; b = b + branches[i].b; }
        var result = (w.to(ScalarType.Float32).MoveToOuterDisposeScope(), b.to(ScalarType.Float32).MoveToOuterDisposeScope());
        foreach (var (bw, bb) in branches) { bw.Dispose(); bb.Dispose(); }
        return result;
    }
}
