using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.GatedConformer;

/// <summary>What each module kind costs in time when a stream runs it, on this machine.</summary>
public static class ConformerTiming
{
    /// <summary>
    /// Median microseconds one gate block of a stream spends in each module kind (half feed-forward, attention, convolution,
    /// half feed-forward), measured on a fresh model of <paramref name="config"/> with batch 1, the kinds timed alternately.
    /// On a small model the time follows the number of operations more than the arithmetic, so it can rank the kinds
    /// differently from their multiply-adds. Usable as <see cref="GatedTrainingOptions.ModuleCosts"/>.
    /// </summary>
    public static double[] ModuleCosts(GatedConformerConfig config, int repeats = 200)
    {
        if (repeats < 1 || repeats > 100_000) throw new InvalidSettingsException($"Repeats must be 1 to 100000 (got {repeats}).");
        using var model = new ConformerSpotter(config.Validate() with { Gated = false });
        model.eval();
        using var noGrad = no_grad();
        var block = model.blocks[0];
        using var x = randn(1, config.GateSteps, config.Width);
        using var attention = block.attention.NewCache(x.device);
        using var convolution = block.convolution.NewCache(config.Width, x.device);
        Action Scoped(Func<Tensor> run) => () => { using var scope = NewDisposeScope(); run(); };
        var ms = Latency.Medians([
            Scoped(() => block.feedForwardIn.Forward(x)),
            Scoped(() => block.attention.Step(x, attention)),
            Scoped(() => block.convolution.Step(x, convolution)),
            Scoped(() => block.feedForwardOut.Forward(x)),
        ], repeats: repeats, warmup: 20);
        return ms.Select(v => v * 1000).ToArray();
    }
}
