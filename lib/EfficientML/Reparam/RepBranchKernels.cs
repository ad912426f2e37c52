using EfficientML.Core;
namespace EfficientML.Reparam;

/// <summary>
/// One branch of a <see cref="RepBlock"/> with its batch norm folded in, as a k-wide kernel and a bias.
/// <see cref="Weight"/> is row-major (out, in/groups, k), <see cref="Bias"/> has one value per output channel.
/// </summary>
public sealed record BranchKernel(string Name, float[] Weight, float[] Bias, int OutChannels, int InPerGroup, int KernelSize)
{
    /// <summary>Tap <paramref name="tap"/> (0..k−1) of the kernel from group-local input <paramref name="input"/> to output <paramref name="output"/>.</summary>
    public float At(int output, int input, int tap) => Weight[(output * InPerGroup + input) * KernelSize + tap];

    /// <summary>The k taps from group-local input <paramref name="input"/> to output <paramref name="output"/>.</summary>
    public float[] Taps(int output, int input) => Weight.AsSpan((output * InPerGroup + input) * KernelSize, KernelSize).ToArray();

    /// <summary>Element-wise sum of two kernels of the same shape.</summary>
    public BranchKernel Plus(BranchKernel other, string name)
    {
        if (other.Weight.Length != Weight.Length || other.Bias.Length != Bias.Length)
            throw new InvalidSettingsException($"Kernels '{Name}' and '{other.Name}' have different shapes.");
        return new(name, Weight.Zip(other.Weight, (a, b) => a + b).ToArray(), Bias.Zip(other.Bias, (a, b) => a + b).ToArray(),
            OutChannels, InPerGroup, KernelSize);
    }
}

/// <summary>
/// The three folded branches of a <see cref="RepBlock"/>: k-wide, 1-wide (zero-padded to k, non-zero only at the centre
/// tap) and identity (one-hot at the centre tap). <see cref="Folded"/>, their sum, is the kernel the deploy conv gets.
/// </summary>
public sealed record RepBranchKernels(BranchKernel Wide, BranchKernel? Narrow, BranchKernel? Identity)
{
    /// <summary>The branches present, in order: k-wide, then 1-wide and identity where the block has them.</summary>
    public IReadOnlyList<BranchKernel> Branches => new[] { Wide, Narrow, Identity }.OfType<BranchKernel>().ToArray();

    /// <summary>k-branch + 1-branch + identity: the single folded kernel and bias.</summary>
    public BranchKernel Folded => Branches.Skip(1).Aggregate(Wide with { Name = "folded kernel" }, (sum, b) => sum.Plus(b, "folded kernel"));
}
