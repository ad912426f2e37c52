using EfficientML.Audio;

namespace EfficientML.Interactive;

/// <summary>
/// The speech substrate's values as HTML: a clip or synthesized speech with its player, waveform and log-mel spectrogram
/// (<see cref="AudioCharts.AudioView"/>), and the phonemes' start times.
/// </summary>
static class AudioHtml
{
    static readonly Lazy<LogMel> Features = new(() => new LogMel());

    /// <summary>The log-mel spectrogram [band, frame] of 16 kHz audio (null for other rates or clips shorter than one window).</summary>
    public static float[,]? LogMelOf(float[] samples, int sampleRate) =>
        sampleRate == Features.Value.Options.SampleRate && samples.Length >= Features.Value.Options.WindowSamples
            ? Features.Value.ComputeArray(samples) : null;

    /// <summary><see cref="AudioCharts.AudioView"/> of <paramref name="samples"/> with its log-mel spectrogram when there is one.</summary>
    public static string View(float[] samples, int sampleRate, string? title = null) =>
        AudioCharts.AudioView(samples, sampleRate, LogMelOf(samples, sampleRate), title);

    public static string Render(AudioClip clip) => View(clip.Samples, clip.SampleRate);

    public static string Render(SynthesizedSpeech speech)
    {
        var phonemes = string.Join(" ", speech.Phonemes.Select(p => $"{p.Phoneme}@{Format.Fixed(p.Start, 2)}s"));
        return $"<div style=\"{Html.BlockStyle}\">" + View(speech.Samples, speech.SampleRate) +
               (phonemes.Length > 0 ? $"<div style=\"margin-top:4px\"><b>phonemes (IPA) and start times</b>: {Html.Encode(phonemes)}</div>" : "") +
               "</div>";
    }
}
