using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Audio;

/// <summary>
/// Log-mel features of audio, batched, on the audio's device: frames → window → power spectrum (<c>torch.stft</c>) →
/// triangular mel filter bank → natural log. Framing, window and filter bank are described on <see cref="LogMelOptions"/>.
/// The same float32 operations run on every device (no device-specific path), so CPU and GPU agree to rounding.
/// Holds the filter bank and window once per device it has seen; dispose it to free them.
/// </summary>
/// <example><code>
/// using var features = new LogMel();                    // 16 kHz, 25 ms / 10 ms, 40 mels
/// var x = features.Compute(waveforms);                  // (B, T) → (B, 40, frames)
/// </code></example>
public sealed class LogMel : IDisposable
{
    readonly Dictionary<(DeviceType Type, int Index), (Tensor Mel, Tensor Window)> _byDevice = new();
    readonly object _lock = new();
    bool _disposed;

    /// <summary>Features with <paramref name="options"/> (validated here); null: the defaults.</summary>
    public LogMel(LogMelOptions? options = null)
    {
        Options = (options ?? new LogMelOptions()).Validate();
        TorchNative.EnsureLoaded();
        var bank = BuildFilterBank(Options);
        var flat = new float[bank.Length];
        Buffer.BlockCopy(bank, 0, flat, 0, flat.Length * sizeof(float));
        var mel = tensor(flat, [Options.Mels, Options.Bins], dtype: ScalarType.Float32).DetachFromDisposeScope();
        var window = WindowTensor(Options, CPU).DetachFromDisposeScope();
        _byDevice[(DeviceType.CPU, -1)] = (mel, window);
        BandCentresHz = Enumerable.Range(0, Options.Mels).Select(m => BandHz(Options, m).Centre).ToArray();
    }

    /// <summary>The settings (validated).</summary>
    public LogMelOptions Options { get; }

    /// <summary>
    /// The mel filter bank, (Mels, FFT size / 2 + 1), float32 on the CPU: row m holds band m's weight for each frequency bin
    /// (bin k is k · sample rate / FFT size Hz). Owned by this object: read it, don't dispose it.
    /// </summary>
    public Tensor MelMatrix => _byDevice[(DeviceType.CPU, -1)].Mel;

    /// <summary>Centre frequency in Hz of each mel band, lowest first.</summary>
    public IReadOnlyList<double> BandCentresHz { get; }

    /// <summary>Frames a clip of <paramref name="samples"/> samples gives: 1 + (samples − window) / hop, or 0 when shorter than a window.</summary>
    public int FrameCount(int samples) => FrameCount(Options, samples);

    /// <summary>Frames a clip of <paramref name="samples"/> samples gives with <paramref name="options"/>.</summary>
    public static int FrameCount(LogMelOptions options, int samples)
    {
        ArgumentNullException.ThrowIfNull(options);
        return samples < options.WindowSamples ? 0 : 1 + (samples - options.WindowSamples) / options.HopSamples;
    }

    /// <summary>
    /// Log-mel features of <paramref name="waveforms"/>, (B, T) or (T), on its device: (B, Mels, Frames) or (Mels, Frames),
    /// float32. Any floating dtype is accepted and computed in float32. Runs in its own dispose scope; the result is handed
    /// to the caller's.
    /// </summary>
    public Tensor Compute(Tensor waveforms)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(waveforms);
        if (waveforms.dim() is not (1 or 2))
            throw new InvalidSettingsException($"Give audio as (T) or (batch, T) samples, not shape [{string.Join(", ", waveforms.shape)}].");
        if (!waveforms.is_floating_point())
            throw new InvalidSettingsException($"Give audio as floating-point samples in −1 … 1, not {waveforms.dtype} (e.g. divide 16-bit PCM by 32768).");
        long samples = waveforms.shape[^1];
        if (samples < Options.WindowSamples)
            throw new InvalidSettingsException($"The audio has {samples} samples, shorter than one {Options.WindowSamples}-sample window ({Options.WindowMs} ms at {Options.SampleRate} Hz): give at least {Options.WindowSamples}.");

        int fft = Options.EffectiveFftSize, hop = Options.HopSamples, frames = FrameCount((int)Math.Min(samples, int.MaxValue));
        using var scope = NewDisposeScope();
        var (mel, window) = On(waveforms.device);
        var x = (waveforms.dim() == 1 ? waveforms.unsqueeze(0) : waveforms).to_type(ScalarType.Float32);   // (B, T)
        if (x.shape[0] == 0) return zeros([0, Options.Mels, frames], dtype: ScalarType.Float32, device: waveforms.device).MoveToOuterDisposeScope();
        // stft takes n_fft samples per frame; the window is zero beyond its first WindowSamples, so padding the end by the
        // difference makes frame f exactly samples [f·hop, f·hop + window), zero-padded to the FFT size.
        if (fft > Options.WindowSamples) x = nn.functional.pad(x, [0, fft - Options.WindowSamples]);
        var spectrum = stft(x, fft, hop_length: hop, win_length: fft, window: window, center: false, onesided: true, return_complex: true); // (B, K, F) complex
        var power = spectrum.real.square() + spectrum.imag.square();                                        // (B, K, F) |X|²
        var bands = matmul(mel, power);                                                                     // (M, K) @ (B, K, F) → (B, M, F)
        var features = bands.clamp_min(Options.LogFloor).log();
        if (waveforms.dim() == 1) features = features.squeeze(0);                                          // (M, F)
        return features.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Log-mel features of one clip as a CPU tensor, (Mels, Frames).</summary>
    public Tensor Compute(float[] samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        using var scope = NewDisposeScope();
        return Compute(tensor(samples, dtype: ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    /// <summary>Log-mel features of one clip as a plain array [mel band, frame] (e.g. for the speech charts).</summary>
    public float[,] ComputeArray(float[] samples)
    {
        using var features = Compute(samples);
        int mels = (int)features.shape[0], frames = (int)features.shape[1];
        var result = new float[mels, frames];
        var flat = features.data<float>().ToArray();
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    /// <summary>The filter bank of <paramref name="options"/> as a plain array [mel band, frequency bin] (see <see cref="MelMatrix"/>).</summary>
    public static float[,] FilterBank(LogMelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return BuildFilterBank(options.Validate());
    }

    /// <summary>Lower edge, centre and upper edge in Hz of mel band <paramref name="band"/> (0 = lowest).</summary>
    public static (double Lower, double Centre, double Upper) BandHz(LogMelOptions options, int band)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (band < 0 || band >= options.Mels) throw new InvalidSettingsException($"Bands are numbered 0 … {options.Mels - 1} (got {band}).");
        var (low, step) = MelGrid(options);
        return (MelToHz(low + band * step), MelToHz(low + (band + 1) * step), MelToHz(low + (band + 2) * step));
    }

    /// <summary>HTK mel scale: 1127 · ln(1 + f / 700).</summary>
    public static double HzToMel(double hz) => 1127.0 * Math.Log(1 + hz / 700.0);

    /// <summary>Inverse of <see cref="HzToMel"/>: 700 · (e^(mel / 1127) − 1).</summary>
    public static double MelToHz(double mel) => 700.0 * (Math.Exp(mel / 1127.0) - 1);

    /// <summary>Frees the filter bank and window tensors on every device.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var (mel, window) in _byDevice.Values)
            {
                mel.Dispose();
                window.Dispose();
            }
            _byDevice.Clear();
        }
    }

    /// <summary>The filter bank and window on <paramref name="device"/>, copied there the first time.</summary>
    (Tensor Mel, Tensor Window) On(Device device)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var key = (device.type, device.type == DeviceType.CPU ? -1 : device.index);
            if (_byDevice.TryGetValue(key, out var both)) return both;
            var cpu = _byDevice[(DeviceType.CPU, -1)];
            both = (cpu.Mel.to(device).DetachFromDisposeScope(), cpu.Window.to(device).DetachFromDisposeScope());
            _byDevice[key] = both;
            return both;
        }
    }

    /// <summary>The window, WindowSamples long, zero-padded at its end to the FFT size (float32).</summary>
    static Tensor WindowTensor(LogMelOptions options, Device device)
    {
        int n = options.WindowSamples, fft = options.EffectiveFftSize;
        var values = new float[fft];
        // Symmetric (denominator N − 1), as HTK, Kaldi and NWaves; computed in double, then rounded once.
        for (int i = 0; i < n; i++)
        {
            double c = Math.Cos(2 * Math.PI * i / (n - 1));
            values[i] = (float)(options.Window == FrameWindow.Hamming ? 0.54 - 0.46 * c : 0.5 - 0.5 * c);
        }
        return tensor(values, dtype: ScalarType.Float32, device: device);
    }

    /// <summary>The lowest band's lower edge in mel and the spacing of band edges in mel.</summary>
    static (double Low, double Step) MelGrid(LogMelOptions options)
    {
        double low = HzToMel(options.LowHz), high = HzToMel(options.EffectiveHighHz);
        return (low, (high - low) / (options.Mels + 1));
    }

    /// <summary>Triangles linear in mel, peak 1 at each centre, zero at the neighbouring centres (no validation: Validate calls it).</summary>
    internal static float[,] BuildFilterBank(LogMelOptions options)
    {
        int mels = options.Mels, bins = options.Bins;
        var (low, step) = MelGrid(options);
        var weights = new float[mels, bins];
        double binHz = (double)options.SampleRate / options.EffectiveFftSize;
        for (int k = 0; k < bins; k++)
        {
            double mel = HzToMel(k * binHz);
            for (int m = 0; m < mels; m++)
            {
                double left = low + m * step, centre = left + step, right = centre + step;
                if (mel > left && mel <= centre) weights[m, k] = (float)((mel - left) / (centre - left));
                else if (mel > centre && mel < right) weights[m, k] = (float)((right - mel) / (right - centre));
            }
        }
        return weights;
    }
}
