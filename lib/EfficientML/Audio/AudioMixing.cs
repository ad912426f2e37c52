using EfficientML.Core;
namespace EfficientML.Audio;

/// <summary>
/// Sample-level helpers for building keyword-spotting training audio: noise at a chosen signal-to-noise ratio, time shifts,
/// a low-pass filter (to make wide-band audio sound like the 8 kHz telephone recordings of the real-voice set), level and
/// peak normalisation. Every method returns a new array and leaves its inputs untouched.
/// </summary>
public static class AudioMixing
{
    /// <summary>A sample counts as speech when its magnitude reaches this fraction (−40 dB) of the clip's peak.</summary>
    public const double ActiveFraction = 0.01;

    /// <summary>
    /// <paramref name="speech"/> plus <paramref name="noise"/> scaled so that 10·log10(P_speech / P_noise) = <paramref name="snrDb"/>.
    /// Both powers are mean squares over the speech's <em>active span</em> — from the first to the last sample whose magnitude
    /// reaches <see cref="ActiveFraction"/> of the speech's peak — so silence before and after a word does not dilute its
    /// level; over that span the SNR is exact. The noise is looped if shorter than the speech and cut if longer; the result
    /// has the speech's length and is not clipped (peaks can exceed ±1; see <see cref="NormalizePeak"/>).
    /// </summary>
    /// <exception cref="InvalidSettingsException">The SNR is NaN or infinite.</exception>
    /// <exception cref="InvalidSettingsException">The speech or the noise is empty or silent, so no noise gain gives that SNR.</exception>
    public static float[] MixAtSnr(float[] speech, float[] noise, double snrDb)
    {
        ArgumentNullException.ThrowIfNull(speech);
        ArgumentNullException.ThrowIfNull(noise);
        if (!double.IsFinite(snrDb)) throw new InvalidSettingsException($"The SNR must be a finite number of decibels, not {snrDb}.");
        if (speech.Length == 0) throw new InvalidSettingsException("The speech is empty: there is no level to set the noise against.");
        if (noise.Length == 0) throw new InvalidSettingsException("The noise is empty.");
        var (start, end) = ActiveSpan(speech);
        if (end <= start) throw new InvalidSettingsException("The speech is silent (all zeros): no noise level gives an SNR against it.");

        double speechPower = 0, noisePower = 0;
        for (int i = start; i < end; i++)
        {
            double s = speech[i], n = noise[i % noise.Length];
            speechPower += s * s;
            noisePower += n * n;
        }
        if (noisePower == 0) throw new InvalidSettingsException("The noise is silent where the speech is: no gain gives it a finite SNR.");
        double gain = Math.Sqrt(speechPower / noisePower / Math.Pow(10, snrDb / 10));   // same span length cancels
        var mixed = new float[speech.Length];
        for (int i = 0; i < mixed.Length; i++) mixed[i] = (float)(speech[i] + gain * noise[i % noise.Length]);
        return mixed;
    }

    /// <summary>
    /// The span [start, end) from the first to just after the last sample of <paramref name="x"/> whose magnitude reaches
    /// <see cref="ActiveFraction"/> of its peak; (0, 0) for silence.
    /// </summary>
    public static (int Start, int End) ActiveSpan(ReadOnlySpan<float> x)
    {
        float peak = 0;
        foreach (var v in x) peak = Math.Max(peak, Math.Abs(v));
        if (peak == 0) return (0, 0);
        float threshold = (float)(peak * ActiveFraction);
        int start = 0, end = x.Length;
        while (Math.Abs(x[start]) < threshold) start++;
        while (Math.Abs(x[end - 1]) < threshold) end--;
        return (start, end);
    }

    /// <summary>
    /// <paramref name="x"/> moved later by <paramref name="samples"/> (earlier when negative), same length: what moves out is
    /// dropped and the gap is filled with zeros.
    /// </summary>
    public static float[] Shift(float[] x, int samples)
    {
        ArgumentNullException.ThrowIfNull(x);
        var shifted = new float[x.Length];
        if (Math.Abs((long)samples) >= x.Length) return shifted;
        if (samples >= 0) Array.Copy(x, 0, shifted, samples, x.Length - samples);
        else Array.Copy(x, -samples, shifted, 0, x.Length + samples);
        return shifted;
    }

    /// <summary>
    /// <paramref name="x"/> centred in <paramref name="length"/> samples: padded with zeros on both sides when shorter, its
    /// middle <paramref name="length"/> samples when longer.
    /// </summary>
    public static float[] Centre(float[] x, int length)
    {
        ArgumentNullException.ThrowIfNull(x);
        var centred = new float[length];
        int n = Math.Min(x.Length, length);
        Array.Copy(x, (x.Length - n) / 2, centred, (length - n) / 2, n);
        return centred;
    }

    /// <summary>
    /// <paramref name="x"/> low-passed at <paramref name="cutoffHz"/> (the −6 dB point) by a linear-phase windowed-sinc FIR filter
    /// with a Blackman window and 2·<paramref name="halfWidth"/>+1 taps, centred so nothing is delayed; same length, zeros assumed
    /// outside. With the default 129 taps the transition band is about 5.5·rate/129 wide (≈ 680 Hz at 16 kHz) and the stop band is
    /// about 74 dB down. <c>LowPass(x, 16000, 4000)</c> band-limits 16 kHz training audio like 8 kHz telephone speech.
    /// </summary>
    public static float[] LowPass(float[] x, int sampleRate, double cutoffHz, int halfWidth = 64)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (sampleRate <= 0) throw new InvalidSettingsException($"A sample rate must be positive, not {sampleRate}.");
        if (!double.IsFinite(cutoffHz) || cutoffHz <= 0 || cutoffHz >= sampleRate / 2.0)
            throw new InvalidSettingsException($"The cut-off must lie between 0 and the Nyquist frequency ({sampleRate / 2.0} Hz), not {cutoffHz} Hz.");
        if (halfWidth < 1) throw new InvalidSettingsException($"The filter needs at least one tap on each side, not {halfWidth}.");

        var kernel = LowPassKernel(sampleRate, cutoffHz, halfWidth);              // (2·halfWidth + 1)
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int first = Math.Max(-halfWidth, i - (x.Length - 1)), last = Math.Min(halfWidth, i);
            double sum = 0;
            for (int k = first; k <= last; k++) sum += kernel[k + halfWidth] * x[i - k];
            y[i] = (float)sum;
        }
        return y;
    }

    static double[] LowPassKernel(int sampleRate, double cutoffHz, int halfWidth)
    {
        double fc = cutoffHz / sampleRate;                                         // cycles per sample, < 0.5
        var h = new double[2 * halfWidth + 1];
        double total = 0;
        for (int k = -halfWidth; k <= halfWidth; k++)
        {
            double sinc = k == 0 ? 2 * fc : Math.Sin(2 * Math.PI * fc * k) / (Math.PI * k);
            double phase = Math.PI * k / (halfWidth + 1);                          // window nonzero at the ends
            double window = 0.42 + 0.5 * Math.Cos(phase) + 0.08 * Math.Cos(2 * phase);
            total += h[k + halfWidth] = sinc * window;
        }
        for (int i = 0; i < h.Length; i++) h[i] /= total;                          // unity gain at 0 Hz
        return h;
    }

    /// <summary>Root-mean-square level of <paramref name="x"/> (0 for an empty span).</summary>
    public static double Rms(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) return 0;
        double sum = 0;
        foreach (var v in x) sum += (double)v * v;
        return Math.Sqrt(sum / x.Length);
    }

    /// <summary>Largest magnitude in <paramref name="x"/> (0 for an empty span).</summary>
    public static double Peak(ReadOnlySpan<float> x)
    {
        float peak = 0;
        foreach (var v in x) peak = Math.Max(peak, Math.Abs(v));
        return peak;
    }

    /// <summary>
    /// <paramref name="x"/> scaled so its largest magnitude is <paramref name="targetPeak"/> (default 0.9, leaving headroom);
    /// silence comes back unchanged.
    /// </summary>
    public static float[] NormalizePeak(float[] x, double targetPeak = 0.9)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!double.IsFinite(targetPeak) || targetPeak <= 0) throw new InvalidSettingsException($"The target peak must be a positive number, not {targetPeak}.");
        double peak = Peak(x);
        if (peak == 0) return (float[])x.Clone();
        return Scale(x, targetPeak / peak);
    }

    /// <summary>
    /// <paramref name="x"/> scaled so its RMS level is <paramref name="targetRms"/>; silence comes back unchanged (peaks may exceed ±1).
    /// </summary>
    public static float[] NormalizeRms(float[] x, double targetRms)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!double.IsFinite(targetRms) || targetRms <= 0) throw new InvalidSettingsException($"The target RMS must be a positive number, not {targetRms}.");
        double rms = Rms(x);
        if (rms == 0) return (float[])x.Clone();
        return Scale(x, targetRms / rms);
    }

    static float[] Scale(float[] x, double gain)
    {
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = (float)(x[i] * gain);
        return y;
    }
}
