using EfficientML.Audio;
using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Slick;

/// <summary>
/// What SLiCK costs, split the way it runs: the audio side once per window (encoder, CTC head and the matcher's keys and
/// values of the audio), the text side once per enrolled keyword (enrolment), and the matcher once per window and
/// keyword. Parameters and multiply-accumulates are computed from the configuration; the latencies (medians, batch 1,
/// milliseconds) are measured when asked for.
/// <para>MACs count the matrix products of convolutions, GRUs (three gates: input and recurrent products), linear layers
/// and attention (scores and weighted sums); norms, activations, softmax and biases are left out.</para>
/// </summary>
public sealed record SlickCost(double WindowSeconds, int Frames, long AudioParameters, long TextParameters, long MatcherParameters,
    long AudioMacs, long TextMacs, long MatcherMacs, double? AudioMs = null, double? TextMs = null, double? MatcherMs = null)
{
    /// <summary>All parameters.</summary>
    public long Parameters => AudioParameters + TextParameters + MatcherParameters;

    /// <summary>MACs of one window against <paramref name="keywords"/> enrolled keywords (the audio side once, the matcher per keyword).</summary>
    public long MacsFor(int keywords) => AudioMacs + keywords * MatcherMacs;

    /// <summary>The cost of <paramref name="config"/> for a window of <paramref name="windowSeconds"/> (log-mel frames every 10 ms).</summary>
    public static SlickCost Of(SlickModelConfig config, double windowSeconds = 1.0, LogMelOptions? logMel = null)
    {
        config.Validate();
        logMel ??= new LogMelOptions();
        int frames = LogMel.FrameCount(logMel, (int)Math.Round(windowSeconds * logMel.SampleRate));
        long d = config.Width, h = d / 2, m = config.Mels, l = config.MaxKeywordLength, hidden = config.HeadHidden, p = Phonemizer.Count;
        long t = (frames + 2 * 2 - 5) / config.AudioStride + 1;                 // the strided front end: kernel 5, padding 2
        long Gru(long input, long size) => 3 * size * (input + size);          // MACs per step (input and recurrent products)
        long GruParameters(long input, long size) => 3 * size * (input + size) + 6 * size;

        long audioParameters = d * m * 5 + d + 2 * d + d * d * 3 + d + 2 * d + d * p + p;
        long audioMacs = t * d * m * 5 + t * d * d * 3 + t * d * p + t * 2 * d * d;  // front end, conv, CTC head, keys and values
        for (int layer = 0; layer < config.AudioLayers; layer++)
        {
            audioParameters += 2 * GruParameters(d, h);
            audioMacs += t * 2 * Gru(d, h);
        }
        long textParameters = p * d + GruParameters(d, d) + 2 * d;
        long textMacs = l * Gru(d, d);
        long matcherParameters = (d * d + d) + (2 * d * d + 2 * d) + (d * d + d) + (3 * d * d + d) + GruParameters(d, d) + (d + 1)
            + (l * d * hidden + hidden) + (hidden + 1);
        long matcherMacs = l * d * d + 2 * l * t * d + l * d * d + l * 3 * d * d + l * Gru(d, d) + l * d + l * d * hidden + hidden;
        return new SlickCost(windowSeconds, frames, audioParameters, textParameters, matcherParameters, audioMacs, textMacs, matcherMacs);
    }

    /// <summary>
    /// The cost of <paramref name="model"/> with its latencies measured on this machine (batch 1, median of
    /// <paramref name="repeats"/> runs after warm-up, no gradients): the audio side of one window, one enrolment, one match.
    /// </summary>
    public static SlickCost Measure(SlickModel model, double windowSeconds = 1.0, int repeats = 30)
    {
        var cost = Of(model.Config, windowSeconds);
        using var evalMode = new EvalMode(model);
        using var noGrad = no_grad();
        using var features = randn(1, model.Config.Mels, cost.Frames, generator: Seeding.Generator(1));
        using var keyword = tensor(Phonemizer.Pad(Enumerable.Range(1, Math.Min(12, model.Config.MaxKeywordLength)).ToArray(), model.Config.MaxKeywordLength)
            .Select(i => (long)i).ToArray(), [1, model.Config.MaxKeywordLength]);
        using var mask = model.KeywordMask(keyword);
        var (encoding, ctc) = model.EncodeAudio(features);
        using var kv = model.AudioKeys(encoding);
        using var text = model.EncodeText(keyword);
        encoding.Dispose();
        ctc.Dispose();
        var medians = Latency.Medians(
        [
            () => { using var s = NewDisposeScope(); var (e, _) = model.EncodeAudio(features); model.AudioKeys(e); },
            () => { using var s = NewDisposeScope(); model.EncodeText(keyword); },
            () => { using var s = NewDisposeScope(); model.MatchKeys(kv, text, mask); },
        ], repeats);
        return cost with { AudioMs = medians[0], TextMs = medians[1], MatcherMs = medians[2] };
    }
}
