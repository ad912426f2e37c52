using EfficientML.Audio;
using EfficientML.Core;

namespace EfficientML.Vision;

/// <summary>
/// How far the mouth opens for each sound, and the curve of mouth opening over the video frames of an utterance: the
/// bridge from synthesized speech (phoneme start times) to a rendered face that says it.
/// </summary>
public static class Visemes
{
    /// <summary>Video frames per second of every scene.</summary>
    public const double FramesPerSecond = 25;

    /// <summary>
    /// Mouth opening, 0 (lips closed) … 1 (wide open), for a phoneme in IPA (as <see cref="SpeechSynthesizer"/> reports
    /// them) or in espeak-ng's ASCII names: lips closed for p, b, m; nearly closed for f, v; rounded and small for w, u, ʊ;
    /// a little open for the tongue consonants; open for the mid vowels; wide for a, æ, ɑ, ɒ (and the diphthongs starting
    /// with them). Pauses close the mouth.
    /// </summary>
    public static double Opening(string phoneme)
    {
        ArgumentNullException.ThrowIfNull(phoneme);
        var p = phoneme.TrimStart('\'', ',', '%', '=', 'ˈ', 'ˌ');                  // stress marks
        if (p.Length == 0 || p[0] == '_' || p[0] == ' ') return 0;
        if (p.StartsWith("tS", StringComparison.Ordinal) || p.StartsWith("dZ", StringComparison.Ordinal)) return 0.3;
        return p[0] switch
        {
            'p' or 'b' or 'm' => 0.02,
            'f' or 'v' => 0.12,
            'w' or 'ʍ' => 0.2,
            'u' or 'U' or 'ʊ' => 0.35,
            'T' or 'D' or 's' or 'z' or 't' or 'd' or 'n' or 'l' or 'S' or 'Z' or 'j' or 'r' or 'R'
                or 'θ' or 'ð' or 'ʃ' or 'ʒ' or 'ɹ' or 'ɾ' or 'ɫ' or 'ʔ' => 0.3,
            'k' or 'g' or 'ɡ' or 'N' or 'ŋ' or 'h' or 'x' or 'i' or 'I' or 'ɪ' => 0.45,
            'o' or 'O' or 'ɔ' => 0.6,
            'e' or 'E' or '@' or '3' or 'V' or 'ɛ' or 'ə' or 'ɜ' or 'ʌ' or 'ɚ' or 'ɝ' or 'ᵻ' => 0.65,
            'a' or 'A' or '0' or 'æ' or 'ɑ' or 'ɒ' or 'ɐ' => 0.95,
            _ => 0.5,
        };
    }

    /// <summary>
    /// Where the voice is in <paramref name="samples"/>: the first and last 20 ms window whose RMS exceeds 2 % of the
    /// loudest window's, in seconds (0, 0 for silence).
    /// </summary>
    public static (double Start, double End) SpeechSpan(float[] samples, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(samples);
        int window = Math.Max(1, sampleRate / 50), count = samples.Length / window;
        var rms = new double[count];
        for (int w = 0; w < count; w++)
        {
            double sum = 0;
            for (int i = w * window; i < (w + 1) * window; i++) sum += samples[i] * (double)samples[i];
            rms[w] = Math.Sqrt(sum / window);
        }
        double peak = count == 0 ? 0 : rms.Max();
        if (peak <= 0) return (0, 0);
        int first = Array.FindIndex(rms, r => r > 0.02 * peak), last = Array.FindLastIndex(rms, r => r > 0.02 * peak);
        return ((double)first * window / sampleRate, (double)(last + 1) * window / sampleRate);
    }

    /// <summary>
    /// The mouth opening at each of <paramref name="frames"/> video frames for an utterance whose audio starts
    /// <paramref name="offset"/> seconds into the scene: each frame takes the opening of the phoneme sounding at its
    /// centre, closed outside <paramref name="speechStart"/> … <paramref name="speechEnd"/> (seconds into the utterance),
    /// then averaged over three frames (neighbouring sounds shape the lips too).
    /// </summary>
    public static float[] Curve(IReadOnlyList<PhonemeTiming> phonemes, double speechStart, double speechEnd, int frames, double offset = 0)
    {
        ArgumentNullException.ThrowIfNull(phonemes);
        if (frames < 1) throw new InvalidSettingsException($"A scene has at least one frame, not {frames}.");
        var raw = new double[frames];
        for (int f = 0; f < frames; f++)
        {
            double t = (f + 0.5) / FramesPerSecond - offset;
            if (t < speechStart || t >= speechEnd) continue;
            int at = -1;
            for (int i = 0; i < phonemes.Count && phonemes[i].Start <= t; i++) at = i;
            raw[f] = at < 0 ? 0 : Opening(phonemes[at].Phoneme);
        }
        var curve = new float[frames];
        for (int f = 0; f < frames; f++)
        {
            double sum = 0;
            int n = 0;
            for (int g = Math.Max(0, f - 1); g <= Math.Min(frames - 1, f + 1); g++, n++) sum += raw[g];
            curve[f] = (float)(sum / n);
        }
        return curve;
    }
}
