using EfficientML.Core;
namespace EfficientML.Audio;

/// <summary>Band-limited resampling by a windowed-sinc (Hann) interpolator, low-passed below the lower Nyquist frequency.</summary>
public static class Resampler
{
    /// <summary>
    /// <paramref name="samples"/> at <paramref name="fromRate"/> Hz resampled to <paramref name="toRate"/> Hz, with
    /// <paramref name="halfWidth"/> zero crossings of the sinc on each side (more: sharper cut-off, slower).
    /// </summary>
    public static float[] Resample(ReadOnlySpan<float> samples, int fromRate, int toRate, int halfWidth = 16)
    {
        if (fromRate <= 0 || toRate <= 0) throw new InvalidSettingsException($"Sample rates must be positive, not {fromRate} → {toRate}.");
        if (halfWidth < 1) throw new InvalidSettingsException("The interpolator needs at least one zero crossing on each side.");
        if (fromRate == toRate) return samples.ToArray();
        double ratio = (double)toRate / fromRate;
        double cutoff = Math.Min(1.0, ratio) * 0.97;                      // of the input's Nyquist frequency
        int length = (int)Math.Floor(samples.Length * ratio);
        var output = new float[length];
        double reach = halfWidth / cutoff;                                 // input samples on each side
        for (int n = 0; n < length; n++)
        {
            double t = n / ratio;                                          // position in input samples
            int first = Math.Max(0, (int)Math.Ceiling(t - reach)), last = Math.Min(samples.Length - 1, (int)Math.Floor(t + reach));
            double sum = 0;
            for (int j = first; j <= last; j++)
            {
                double x = j - t;
                double window = 0.5 + 0.5 * Math.Cos(Math.PI * x / reach);
                double arg = Math.PI * cutoff * x;
                double sinc = Math.Abs(arg) < 1e-12 ? 1 : Math.Sin(arg) / arg;
                sum += samples[j] * cutoff * sinc * window;
            }
            output[n] = (float)sum;
        }
        return output;
    }
}
