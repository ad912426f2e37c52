using EfficientML.Core;
namespace EfficientML.Audio;

/// <summary>
/// Mono audio: float samples (nominally −1 … 1) at <see cref="SampleRate"/> Hz. Like any record holding an array, two clips
/// are equal only when they share the same array; compare <see cref="Samples"/> element-wise for content.
/// </summary>
public sealed record AudioClip(float[] Samples, int SampleRate)
{
    /// <summary>The samples, mono.</summary>
    public float[] Samples { get; init; } = Samples ?? throw new ArgumentNullException(nameof(Samples));

    /// <summary>Samples per second.</summary>
    public int SampleRate { get; init; } = SampleRate > 0
        ? SampleRate
        : throw new InvalidSettingsException($"A sample rate must be positive, not {SampleRate}.");

    /// <summary>Length in seconds.</summary>
    public double Seconds => (double)Samples.Length / SampleRate;

    /// <summary>This clip at <paramref name="rate"/> Hz (band-limited windowed-sinc resampling); the clip itself when it already is.</summary>
    public AudioClip Resampled(int rate)
    {
        if (rate <= 0) throw new InvalidSettingsException($"A sample rate must be positive, not {rate}.");
        return rate == SampleRate ? this : new AudioClip(Resampler.Resample(Samples, SampleRate, rate), rate);
    }
}
