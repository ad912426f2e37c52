using EfficientML.Core;
using System.Globalization;

namespace EfficientML.Audio;

/// <summary>The taper applied to each frame before its FFT.</summary>
public enum FrameWindow
{
    /// <summary>Hann: 0.5 − 0.5·cos(2πn/(N−1)); falls to zero at both ends, low leakage far from a peak.</summary>
    Hann,

    /// <summary>Hamming: 0.54 − 0.46·cos(2πn/(N−1)); HTK's choice, a narrower main lobe but higher far side lobes.</summary>
    Hamming,
}

/// <summary>
/// How <see cref="LogMel"/> turns audio into log-mel features. The defaults are the usual keyword-spotting front end:
/// 16 kHz audio, 25 ms frames every 10 ms, a 512-point FFT, 40 mel bands from 20 Hz to 8 kHz, natural log with a floor.
/// <para>
/// Framing: no centre padding. Frame <c>f</c> covers samples [f·hop, f·hop + window), so a clip of T samples gives
/// 1 + (T − window) / hop frames (integer division); 1 s at 16 kHz gives 1 + (16000 − 400) / 160 = 98. Each frame is
/// multiplied by a symmetric window (denominator N − 1, as HTK, Kaldi and NWaves use) and zero-padded at its end to the
/// FFT size.
/// </para>
/// <para>
/// Filter bank: <see cref="Mels"/> triangles spaced evenly on the HTK mel scale, mel(f) = 1127·ln(1 + f/700), between
/// <see cref="LowHz"/> and <see cref="HighHz"/>; each triangle rises linearly in mel from its lower neighbour's centre to
/// its own (weight 1) and falls to the next centre; weights are not area-normalised. It is applied to the power spectrum
/// |X(k)|² (not divided by the FFT size), and the feature is ln(max(band energy, <see cref="LogFloor"/>)).
/// </para>
/// </summary>
public sealed record LogMelOptions
{
    /// <summary>Sample rate of the audio in Hz.</summary>
    public int SampleRate { get; init; } = 16000;

    /// <summary>Frame (window) length in milliseconds.</summary>
    public double WindowMs { get; init; } = 25;

    /// <summary>Step between frame starts in milliseconds.</summary>
    public double HopMs { get; init; } = 10;

    /// <summary>Number of mel bands (feature rows).</summary>
    public int Mels { get; init; } = 40;

    /// <summary>FFT length (a power of two ≥ the window); null: the next power of two ≥ the window (512 for 25 ms at 16 kHz).</summary>
    public int? FftSize { get; init; }

    /// <summary>Lower edge of the lowest mel band in Hz.</summary>
    public double LowHz { get; init; } = 20;

    /// <summary>Upper edge of the highest mel band in Hz; null: half the sample rate.</summary>
    public double? HighHz { get; init; }

    /// <summary>Band energies below this are raised to it before the natural log (silence gives ln(floor), not −∞).</summary>
    public double LogFloor { get; init; } = 1e-6;

    /// <summary>The taper applied to each frame (Hann by default).</summary>
    public FrameWindow Window { get; init; } = FrameWindow.Hann;

    /// <summary>Frame length in samples: <see cref="WindowMs"/> at <see cref="SampleRate"/>, rounded.</summary>
    public int WindowSamples => (int)Math.Round(WindowMs * SampleRate / 1000.0);

    /// <summary>Hop in samples: <see cref="HopMs"/> at <see cref="SampleRate"/>, rounded.</summary>
    public int HopSamples => (int)Math.Round(HopMs * SampleRate / 1000.0);

    /// <summary>The FFT length used: <see cref="FftSize"/>, or the next power of two ≥ <see cref="WindowSamples"/>.</summary>
    public int EffectiveFftSize => FftSize ?? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, WindowSamples));

    /// <summary>The upper band edge used: <see cref="HighHz"/>, or half the sample rate.</summary>
    public double EffectiveHighHz => HighHz ?? SampleRate / 2.0;

    /// <summary>Frequency bins of the one-sided spectrum: FFT size / 2 + 1.</summary>
    public int Bins => EffectiveFftSize / 2 + 1;

    /// <summary>Throws one clear message for the first setting that cannot work; returns the options otherwise.</summary>
    public LogMelOptions Validate()
    {
        static string N(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        if (SampleRate <= 0)
            throw new InvalidSettingsException($"The sample rate must be positive, e.g. 16000 Hz (got {SampleRate}).");
        if (!(WindowMs > 0) || !double.IsFinite(WindowMs))
            throw new InvalidSettingsException($"The window length must be a positive number of milliseconds, e.g. 25 (got {WindowMs}).");
        if (WindowSamples < 2)
            throw new InvalidSettingsException($"A {N(WindowMs)} ms window is {WindowSamples} sample(s) at {SampleRate} Hz; a frame needs at least 2: use a longer window (got {WindowMs}).");
        if (!(HopMs > 0) || !double.IsFinite(HopMs))
            throw new InvalidSettingsException($"The hop must be a positive number of milliseconds, e.g. 10 (got {HopMs}).");
        if (HopSamples < 1)
            throw new InvalidSettingsException($"A {N(HopMs)} ms hop is less than one sample at {SampleRate} Hz: use a longer hop (got {HopMs}).");
        if (Mels < 1)
            throw new InvalidSettingsException($"Ask for at least one mel band, e.g. 40 (got {Mels}).");
        if (FftSize is int fft && (fft < 2 || !System.Numerics.BitOperations.IsPow2(fft)))
            throw new InvalidSettingsException($"The FFT size must be a power of two (e.g. 512), or null to take the next power of two ≥ the window (got {fft}).");
        if (EffectiveFftSize < WindowSamples)
            throw new InvalidSettingsException($"The FFT size {EffectiveFftSize} is shorter than the {WindowSamples}-sample window: use at least {System.Numerics.BitOperations.RoundUpToPowerOf2((uint)WindowSamples)}, or leave it null (got {FftSize}).");
        if (!(LowHz >= 0) || !double.IsFinite(LowHz))
            throw new InvalidSettingsException($"The lowest band edge must be 0 Hz or more (got {LowHz}).");
        double nyquist = SampleRate / 2.0;
        if (HighHz is double high && (!double.IsFinite(high) || high > nyquist))
            throw new InvalidSettingsException($"The highest band edge must be at most half the sample rate ({N(nyquist)} Hz), or null for exactly that (got {high}).");
        if (!(EffectiveHighHz > LowHz))
            throw new InvalidSettingsException($"The highest band edge ({N(EffectiveHighHz)} Hz) must lie above the lowest ({N(LowHz)} Hz) (got {HighHz}).");
        if (!(LogFloor > 0) || !double.IsFinite(LogFloor))
            throw new InvalidSettingsException($"The log floor must be a small positive number, e.g. 1e-6 (the log of zero is −∞) (got {LogFloor}).");
        if (!Enum.IsDefined(Window))
            throw new InvalidSettingsException($"Choose FrameWindow.Hann or FrameWindow.Hamming (got {Window}).");
        // Every band must cover at least one FFT bin, or its row is all zeros and its feature is constant.
        var weights = LogMel.BuildFilterBank(this);
        for (int m = 0; m < Mels; m++)
        {
            bool any = false;
            for (int k = 0; k < Bins && !any; k++) any = weights[m, k] > 0;
            if (!any)
            {
                var (lower, centre, upper) = LogMel.BandHz(this, m);
                throw new InvalidSettingsException($"Mel band {m} ({N(lower)}–{N(upper)} Hz, centre {N(centre)} Hz) falls between the FFT bins ({N((double)SampleRate / EffectiveFftSize)} Hz apart): " +
                    $"use fewer mel bands (Mels = {Mels}), a larger FFT size or a higher lowest band edge.");
            }
        }
        return this;
    }
}
