using EfficientML.Core;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Audio;

/// <summary>
/// One test clip made from a real recording: the word, its class for the dataset (a keyword, or "unknown"), whether it
/// is the recording itself or a variation of it, what the variation did, and the clip's samples.
/// </summary>
public sealed record RealVoiceItem(string Word, int Label, bool Original, string Variation, float[] Samples);

/// <summary>
/// A test set from the real voice in <c>datasets/real-voice</c> for a keyword dataset's classes. The set has one
/// recording per word, so each recording is used as it is (centred in the clip window) and also in
/// <c>variations</c> seeded variations: speed 0.9–1.1× (by resampling, which also moves the pitch), a shift of up to
/// ±0.1 s, a gain, and recorded noise at 10–30 dB SNR. Words that are not keywords count as "unknown"; "oh" is left out
/// (people say it for zero). The recordings are 8 kHz telephone audio (nothing above 4 kHz).
/// </summary>
public static class RealVoiceTest
{
    /// <summary>Words of the real-voice set that are never used: ambiguous between classes.</summary>
    public static readonly IReadOnlyList<string> Excluded = ["oh"];

    /// <summary>The test items for <paramref name="options"/>' classes.</summary>
    public static IReadOnlyList<RealVoiceItem> Make(KeywordDatasetOptions options, int variations = 4, int seed = 0,
        RealVoiceSet? voices = null, NoiseLibrary? noise = null)
    {
        options.Validate();
        if (variations < 0) throw new InvalidSettingsException($"Variations per recording cannot be negative (got {variations}).");
        voices ??= RealVoiceSet.Load();
        var keywords = options.Keywords.Select(KeywordDatasetOptions.Normalise).ToList();
        var items = new List<RealVoiceItem>();
        var rng = new Random(seed);
        foreach (var clip in voices.Clips.OrderBy(c => c.Word, StringComparer.Ordinal))
        {
            var word = KeywordDatasetOptions.Normalise(clip.Word);
            if (Excluded.Contains(word)) continue;
            int label = keywords.IndexOf(word);
            if (label < 0)
            {
                if (!options.IncludeUnknown) continue;
                label = keywords.Count;
            }
            var speech = ClipRenderer.TrimSilence(clip.Clip.Resampled(options.SampleRate).Samples, options.SampleRate);
            items.Add(new RealVoiceItem(word, label, true, "as recorded", Place(speech, options.ClipSamples, 0, 0.9f / Math.Max((float)AudioMixing.Peak(speech), 1e-4f))));
            for (int v = 0; v < variations; v++)
            {
                noise ??= NoiseLibrary.Load();
                double speed = 0.9 + 0.2 * rng.NextDouble();
                var faster = Resampler.Resample(speech, (int)Math.Round(options.SampleRate * speed), options.SampleRate);
                int maxShift = (int)(0.1 * options.SampleRate);
                int shift = rng.Next(-maxShift, maxShift + 1);
                float gain = (float)(0.3 + 0.6 * rng.NextDouble()) / Math.Max((float)AudioMixing.Peak(faster), 1e-4f);
                double snr = 10 + 20 * rng.NextDouble();
                var placed = Place(faster, options.ClipSamples, shift, gain);
                var mixed = AudioMixing.MixAtSnr(placed, noise.Excerpt(rng, placed.Length), snr);
                items.Add(new RealVoiceItem(word, label, false,
                    string.Create(CultureInfo.InvariantCulture, $"speed {speed:0.00}×, shift {shift * 1000 / options.SampleRate:+0;-0} ms, noise {snr:0} dB"), mixed));
            }
        }
        return items;
    }

    /// <summary>The items' waveforms as a tensor [N, samples].</summary>
    public static Tensor Waveforms(IReadOnlyList<RealVoiceItem> items, Device? device = null)
    {
        if (items.Count == 0) throw new InvalidSettingsException("There are no real-voice items.");
        Core.TorchNative.EnsureLoaded();
        int length = items[0].Samples.Length;
        var all = new float[(long)items.Count * length];
        for (int i = 0; i < items.Count; i++) items[i].Samples.CopyTo(all, (long)i * length);
        return tensor(all, [items.Count, length]).to(device ?? CPU);
    }

    /// <summary>
    /// <paramref name="speech"/> times <paramref name="gain"/>, centred in a window of <paramref name="length"/> samples and
    /// moved by <paramref name="shift"/> (kept inside); a longer recording keeps its middle.
    /// </summary>
    static float[] Place(float[] speech, int length, int shift, float gain)
    {
        var window = new float[length];
        if (speech.Length >= length)
        {
            int cut = (speech.Length - length) / 2;
            for (int i = 0; i < length; i++) window[i] = speech[cut + i] * gain;
            return window;
        }
        int room = length - speech.Length;
        int start = Math.Clamp(room / 2 + shift, 0, room);
        for (int i = 0; i < speech.Length; i++) window[start + i] = speech[i] * gain;
        return window;
    }
}
