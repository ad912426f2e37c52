using EfficientML.Core;
using NWaves.Effects;
using NWaves.Operations;
using NWaves.Operations.Tsm;
using NWaves.Signals;

namespace EfficientML.Audio;

/// <summary>
/// Augmentations that move a voice, not only its pitch, on a clip of audio. Each keeps the clip's length and sample rate
/// and leaves the word where it was:
/// <list type="bullet">
/// <item><see cref="WarpVocalTract"/>: vocal-tract-length perturbation, every frequency scaled by α (formants and
/// harmonics together, as a shorter or longer vocal tract moves them), with the time course untouched.</item>
/// <item><see cref="ChangeTempo"/>: the word said faster or slower at the same pitch (WSOLA time-scale modification),
/// stretched about its own centre.</item>
/// <item><see cref="Reverberate"/>: the clip in a room, convolved with a synthetic impulse response (<see cref="RoomImpulse"/>:
/// the direct sound, then exponentially decaying noise with the room's RT60).</item>
/// </list>
/// The signal processing is NWaves' (WSOLA time-scale modification, resampling, FFT convolution).
/// </summary>
public static class VoiceAugmentation
{
    /// <summary>Window and hop of the WSOLA time-scale modification (64 ms and 8 ms at 16 kHz).</summary>
    const int Window = 1024, Hop = 128;

    /// <summary>Zeros put on both sides before WSOLA, which treats the ends of its input as edges, and taken off after.</summary>
    const int Margin = 2 * Window;

    /// <summary>
    /// <paramref name="samples"/> with every frequency scaled by <paramref name="alpha"/> (0.5 … 2; above 1 sounds like a
    /// shorter vocal tract) at the same tempo: WSOLA stretches time by α, and resampling by 1/α brings the length back and
    /// scales all frequencies, formants and harmonics alike, as a linear warp of the spectrum's frequency axis does. Same
    /// length and timing; what α &gt; 1 pushes above Nyquist is dropped, and with α &lt; 1 the top of the band stays empty.
    /// </summary>
    public static float[] WarpVocalTract(float[] samples, int sampleRate, double alpha)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (!(alpha >= 0.5 && alpha <= 2))
            throw new InvalidSettingsException($"The vocal-tract warp α lies in 0.5 … 2 (got {alpha}); 1 leaves the voice as it is.");
        if (alpha == 1 || samples.Length == 0) return (float[])samples.Clone();
        var shifted = new PitchShiftEffect(alpha, Window, Hop, TsmAlgorithm.Wsola).ApplyTo(new DiscreteSignal(sampleRate, Padded(samples))).Samples;
        var result = new float[samples.Length];
        Array.Copy(shifted, Margin, result, 0, Math.Min(samples.Length, shifted.Length - Margin));
        return MatchPeak(result, samples);
    }

    /// <summary>
    /// <paramref name="clip"/> with its word (the span above the noise floor, <see cref="AudioMixing.ActiveSpan"/>) said
    /// about <paramref name="tempo"/> times as fast at the same pitch (0.5 … 2; WSOLA keeps within a few percent of it),
    /// centred where the word's centre was. Same length; a stretched word that no longer fits keeps its middle.
    /// </summary>
    public static float[] ChangeTempo(float[] clip, int sampleRate, double tempo)
    {
        ArgumentNullException.ThrowIfNull(clip);
        if (!(tempo >= 0.5 && tempo <= 2))
            throw new InvalidSettingsException($"The tempo lies in 0.5 … 2 (got {tempo}); 1 leaves the word as it is.");
        var (start, end) = AudioMixing.ActiveSpan(clip);
        if (tempo == 1 || end <= start) return (float[])clip.Clone();
        var stretched = Operation.TimeStretch(new DiscreteSignal(sampleRate, Padded(clip.AsSpan(start, end - start).ToArray())), 1 / tempo, TsmAlgorithm.Wsola).Samples;
        var (wordStart, wordEnd) = AudioMixing.ActiveSpan(stretched);
        var result = (float[])clip.Clone();
        Array.Clear(result, start, end - start);
        int from = (start + end) / 2 - (wordEnd - wordStart) / 2;
        for (int i = wordStart; i < wordEnd; i++)
            if (from + i - wordStart >= 0 && from + i - wordStart < result.Length) result[from + i - wordStart] += stretched[i];
        return MatchPeak(result, clip);
    }

    static float[] Padded(float[] samples)
    {
        var padded = new float[samples.Length + 2 * Margin];
        samples.CopyTo(padded, Margin);
        return padded;
    }

    /// <summary>
    /// A room's impulse response, <paramref name="rt60"/> seconds long to −60 dB: 1 at lag 0 (the direct sound), then,
    /// from <paramref name="delaySeconds"/> on, Gaussian noise under an exponential decay, scaled so the direct sound is
    /// <paramref name="directToReverberantDb"/> above the reverberant energy. Drawn from <paramref name="rng"/>.
    /// </summary>
    public static float[] RoomImpulse(Random rng, int sampleRate, double rt60, double directToReverberantDb, double delaySeconds = 0.005)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(rt60 >= 0.05 && rt60 <= 3))
            throw new InvalidSettingsException($"The reverberation time RT60 lies in 0.05 … 3 s (got {rt60}).");
        if (!double.IsFinite(directToReverberantDb))
            throw new InvalidSettingsException($"The direct-to-reverberant ratio must be a number of decibels (got {directToReverberantDb}).");
        int delay = Math.Max(1, (int)Math.Round(delaySeconds * sampleRate)), length = delay + (int)Math.Round(rt60 * sampleRate);
        var response = new float[length];
        double tail = 0;
        for (int i = delay; i < length; i++)
        {
            double t = (i - delay) / (double)sampleRate;
            response[i] = (float)(Gaussian(rng) * Math.Exp(-3 * Math.Log(10) * t / rt60));   // amplitude falls 60 dB over rt60
            tail += response[i] * (double)response[i];
        }
        float scale = (float)Math.Sqrt(Math.Pow(10, -directToReverberantDb / 10) / Math.Max(tail, 1e-12));
        for (int i = delay; i < length; i++) response[i] *= scale;
        response[0] = 1;
        return response;
    }

    /// <summary>
    /// <paramref name="clip"/> convolved with <paramref name="impulse"/> (which starts with its direct sound at lag 0, so the
    /// word starts where it did), cut to the clip's length and scaled back to the clip's peak.
    /// </summary>
    public static float[] Reverberate(float[] clip, float[] impulse)
    {
        ArgumentNullException.ThrowIfNull(clip);
        ArgumentNullException.ThrowIfNull(impulse);
        if (impulse.Length == 0) throw new InvalidSettingsException("The impulse response is empty.");
        if (clip.Length == 0) return [];
        var wet = Operation.Convolve(new DiscreteSignal(1, clip), new DiscreteSignal(1, impulse)).Samples;
        return MatchPeak(wet.AsSpan(0, clip.Length).ToArray(), clip);
    }

    /// <summary><paramref name="result"/> scaled to the peak of <paramref name="original"/> (an augmentation changes the voice, not the level).</summary>
    static float[] MatchPeak(float[] result, float[] original)
    {
        double peak = AudioMixing.Peak(result), target = AudioMixing.Peak(original);
        if (peak > 1e-9)
        {
            float scale = (float)(target / peak);
            for (int i = 0; i < result.Length; i++) result[i] *= scale;
        }
        return result;
    }

    static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
