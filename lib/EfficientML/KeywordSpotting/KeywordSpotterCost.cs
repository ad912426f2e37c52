using EfficientML.Core;
using EfficientML.Audio;
using EfficientML.Reparam;
namespace EfficientML.KeywordSpotting;

/// <summary>Analytic cost of a keyword spotter for one window of audio, batch 1, float32.</summary>
/// <param name="Model">What was costed, e.g. "RepCnn multi-branch (training form)".</param>
/// <param name="Parameters">Trainable parameters (batch-norm running statistics not counted).</param>
/// <param name="Macs">Multiply-accumulates of the convolutions and the classifier for the window.</param>
/// <param name="PeakActivationBytes">Largest sum of simultaneously live activations (see <see cref="KeywordSpotterCost"/>).</param>
/// <param name="Frames">Frames in the window (98 for one second).</param>
public sealed record ModelCost(string Model, long Parameters, long Macs, long PeakActivationBytes, int Frames);

/// <summary>
/// Parameter count, multiply-accumulates and peak activation memory computed from a configuration, without running
/// the model; they feed the benchmark table next to measured latency.
/// <para>MACs: every convolution (output elements × input channels per group × kernel taps) and the linear classifier.
/// Batch norm, activations, additions, pooling and biases are not counted (they are element-wise, or fold away).</para>
/// <para>Memory model, batch 1, 4 bytes per value: the activations live while an operation runs are its inputs, its output,
/// and whatever is held for later (a shortcut, or branch outputs waiting to be summed). Element-wise operations (batch
/// norm, ReLU, Swish, dropout, the sum of branches, a broadcast add) work in place; a tensor is freed after its last use.
/// So a multi-branch RepBlock holds its input and its two or three branch outputs together (input + 3 × output with
/// the identity), the folded block only input + output; a BC-ResBlock holds its shortcut input, the frequency-wise
/// output and the small per-time-step tensors of the temporal branch. Weights are not counted. The peak is the largest
/// live set over the whole forward pass, the input features included.</para>
/// </summary>
public static class KeywordSpotterCost
{
    /// <summary>Frames in one second of audio (25 ms windows every 10 ms: 1 + (16000 − 400)/160).</summary>
    public const int FramesPerSecond = 98;

    const int BytesPerValue = sizeof(float);

    /// <summary>
    /// Cost of a <see cref="RepCnn"/>: the training form of <paramref name="config"/> (its branches), or the folded deploy
    /// form when <paramref name="reparameterized"/> (the same for multi- and single-branch configurations).
    /// </summary>
    public static ModelCost Of(RepCnnConfig config, bool reparameterized = false, int frames = FramesPerSecond)
    {
        config.Validate();
        if (frames < 1) throw new InvalidSettingsException("A window needs at least one frame.");
        var c = new Tally();
        int[] strides = config.BlockStrides, dilations = config.BlockDilations;
        long t = frames, k = config.KernelSize;
        for (int i = 0; i < config.Blocks; i++)
        {
            long cin = config.BlockInput(i), cout = config.Channels[i];
            long tOut = (t - 1) / strides[i] + 1;                             // "same" padding, then stride
            bool multi = config.Branches == BranchSet.MultiBranch && !reparameterized;
            bool identity = multi && cin == cout && strides[i] == 1;
            if (reparameterized) c.Parameters += cout * cin * k + cout;       // folded kernel + bias
            else
            {
                c.Parameters += cout * cin * k + 2 * cout;                   // k-wide conv + BN
                if (multi) c.Parameters += cout * cin + 2 * cout;            // 1-wide conv + BN
                if (identity) c.Parameters += 2 * cout;                      // identity BN
            }
            c.Macs += cout * tOut * cin * k;
            if (multi) c.Macs += cout * tOut * cin;
            int outputs = 1 + (multi ? 1 : 0) + (identity ? 1 : 0);
            c.Live(cin * t, outputs * cout * tOut);                          // input + branch outputs, then summed in place
            t = tOut;
        }
        long width = config.Channels[^1];
        c.Live(width * t, width);                                             // global average over time
        c.Parameters += width * config.Classes + config.Classes;
        c.Macs += width * config.Classes;
        c.Live(width, config.Classes);
        var form = reparameterized ? "re-parameterised (deploy form)"
            : config.Branches == BranchSet.MultiBranch ? "multi-branch (training form)" : "single-branch (training form)";
        return c.Result($"RepCnn {form}", frames);
    }

    /// <summary>Cost of a <see cref="BcResNet"/> (its batch norms counted as parameters, as trained).</summary>
    public static ModelCost Of(BcResNetConfig config, int frames = FramesPerSecond)
    {
        config.Validate();
        if (frames < 1) throw new InvalidSettingsException("A window needs at least one frame.");
        var c = new Tally();
        long t = frames, f = config.HeadBins, ch = config.HeadChannels;
        c.Parameters += ch * 25 + 2 * ch;                                     // 5×5 head conv + BN
        c.Macs += ch * f * t * 25;
        c.Live(config.Mels * t, ch * f * t);
        int[] stageChannels = config.StageChannels, stageBins = config.StageBins;
        for (int stage = 0; stage < stageChannels.Length; stage++)
            for (int i = 0; i < BcResNetConfig.StageBlocks[stage]; i++)
            {
                long cout = stageChannels[stage], fOut = stageBins[stage];       // the stage's first block strides
                bool transition = ch != cout;
                long shortcut = 0;
                if (transition)
                {
                    c.Parameters += ch * cout + 2 * cout;                     // 1×1 conv + BN
                    c.Macs += cout * f * t * ch;
                    c.Live(ch * f * t, cout * f * t);
                }
                else shortcut = ch * f * t;                                   // x is kept for the identity shortcut
                long x1 = cout * fOut * t;
                c.Parameters += cout * 3 + 2 * cout * config.SubBandsFor((int)fOut); // 3×1 depthwise + sub-spectral norm
                c.Macs += x1 * 3;
                c.Live(cout * f * t, x1);                                     // frequency-wise conv: its input (x or h) + x1
                c.Parameters += cout * 3 + 2 * cout + cout * cout;            // 1×3 depthwise + BN + 1×1
                c.Macs += cout * t * 3 + cout * t * cout;
                c.Live(shortcut, x1, cout * t, cout * t);                     // x1 held; averaged (C, T) in, (C, T) out
                ch = cout;
                f = fOut;
            }
        long fk = config.ClassifierFrequencyKernel, fLast = f - fk + 1, wide = config.ClassifierChannels;
        c.Parameters += ch * fk * 5;                                          // depthwise (fk × 5)
        c.Macs += ch * fLast * t * fk * 5;
        c.Live(ch * f * t, ch * fLast * t);
        c.Parameters += ch * wide + 2 * wide;                                 // 1×1 conv + BN
        c.Macs += wide * fLast * t * ch;
        c.Live(ch * fLast * t, wide * fLast * t);
        c.Live(wide * fLast * t, wide);                                       // average over frequency and time
        c.Parameters += wide * config.Classes + config.Classes;
        c.Macs += wide * config.Classes;
        c.Live(wide, config.Classes);
        return c.Result($"BC-ResNet-{config.Width:0.##}", frames);
    }

    /// <summary>Running totals while walking a forward pass.</summary>
    sealed class Tally
    {
        public long Parameters, Macs, PeakValues;

        /// <summary>Records one moment of the forward pass at which these activations (element counts) are alive together.</summary>
        public void Live(params long[] elements) => PeakValues = Math.Max(PeakValues, elements.Sum());

        public ModelCost Result(string model, int frames) => new(model, Parameters, Macs, PeakValues * BytesPerValue, frames);
    }
}
