using EfficientML.Core;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using NWaves.FeatureExtractors;
using NWaves.FeatureExtractors.Options;
using NWaves.Filters.Fda;
using NWaves.Utils;
using NWaves.Windows;
using TorchSharp;

namespace EfficientML.Tests;

public class LogMelTests
{
    const int Rate = 16000;

    /// <summary>
    /// Agreement with NWaves on log values (natural log of float32 band energies of a speech-like signal). Measured: about
    /// 7e-6; a periodic instead of a symmetric window already differs by 3e-2.
    /// </summary>
    const double NWavesTolerance = 1e-4;

    /// <summary>
    /// A speech-like second: a voiced stretch (harmonics of a gliding 110–180 Hz fundamental under two formant-like
    /// bumps, with a syllable-rate amplitude envelope), two steady tones, and white noise, seeded.
    /// </summary>
    static float[] SpeechLike(int samples, int seed = 7)
    {
        var random = new Random(seed);
        var x = new float[samples];
        double phase = 0;
        for (int n = 0; n < samples; n++)
        {
            double t = (double)n / Rate;
            double f0 = 110 + 70 * t;
            phase += 2 * Math.PI * f0 / Rate;
            double voiced = 0;
            for (int h = 1; h <= 30; h++)
            {
                double f = h * f0;
                if (f > 7500) break;
                // Two formant-like bumps (around 700 Hz and 1800 Hz) shape the harmonics' amplitudes.
                double gain = Math.Exp(-Math.Pow((f - 700) / 250, 2)) + 0.6 * Math.Exp(-Math.Pow((f - 1800) / 400, 2)) + 0.05;
                voiced += gain * Math.Sin(h * phase) / h;
            }
            double envelope = 0.5 + 0.5 * Math.Sin(2 * Math.PI * 4 * t);
            double tones = 0.05 * Math.Sin(2 * Math.PI * 2500 * t) + 0.03 * Math.Sin(2 * Math.PI * 5200 * t + 1);
            double noise = 0.02 * (random.NextDouble() * 2 - 1);
            x[n] = (float)(0.3 * envelope * voiced + tones + noise);
        }
        return x;
    }

    static float[] Tone(double hz, int samples, double amplitude = 0.5) =>
        Enumerable.Range(0, samples).Select(n => (float)(amplitude * Math.Sin(2 * Math.PI * hz * n / Rate))).ToArray();

    /// <summary>NWaves' filter-bank energies, configured like the defaults: Hann, 400/160, FFT 512, 40 HTK mel triangles 20–8000 Hz, power spectrum.</summary>
    static (List<float[]> Vectors, float[][] Bank) NWavesFilterbank(float[] samples, LogMelOptions options)
    {
        // HTK mel bands, with the triangles' weights linear in mel (the mapper), as LogMel builds them.
        var bank = FilterBanks.Triangular(options.EffectiveFftSize, options.SampleRate,
            FilterBanks.MelBands(options.Mels, options.SampleRate, options.LowHz, options.EffectiveHighHz), null, Scale.HerzToMel);
        var extractor = new FilterbankExtractor(new FilterbankOptions
        {
            SamplingRate = options.SampleRate,
            FrameSize = options.WindowSamples,
            HopSize = options.HopSamples,
            FftSize = options.EffectiveFftSize,
            FilterBankSize = options.Mels,
            FilterBank = bank,
            Window = options.Window == FrameWindow.Hann ? WindowType.Hann : WindowType.Hamming,
            SpectrumType = SpectrumType.Power,
            NonLinearity = NonLinearityType.None,
        });
        return (extractor.ComputeFrom(samples), bank);
    }

    static float[] Values(torch.Tensor t) => t.contiguous().data<float>().ToArray();

    [Theory]
    [InlineData(FrameWindow.Hann)]
    [InlineData(FrameWindow.Hamming)]
    public void Log_mel_features_agree_with_NWaves_on_a_speech_like_signal(FrameWindow window)
    {
        var options = new LogMelOptions { Window = window };
        var samples = SpeechLike(Rate);
        using var logMel = new LogMel(options);
        using var ours = logMel.Compute(samples);                          // (40, 98)
        var (theirs, bank) = NWavesFilterbank(samples, options);

        // The filter banks themselves agree weight by weight.
        var mel = Values(logMel.MelMatrix);
        Assert.Equal(options.Mels, bank.Length);
        for (int m = 0; m < options.Mels; m++)
            for (int k = 0; k < options.Bins; k++)
                Assert.True(Math.Abs(mel[m * options.Bins + k] - bank[m][k]) < 1e-5, $"weight [{m}, {k}]: ours {mel[m * options.Bins + k]}, NWaves {bank[m][k]}");

        Assert.Equal(new long[] { options.Mels, 98 }, ours.shape);
        Assert.Equal(98, theirs.Count);
        var values = Values(ours);
        double worst = 0;
        for (int f = 0; f < theirs.Count; f++)
            for (int m = 0; m < options.Mels; m++)
            {
                double expected = Math.Log(Math.Max(theirs[f][m], options.LogFloor));
                worst = Math.Max(worst, Math.Abs(values[m * 98 + f] - expected));
            }
        Console.WriteLine($"LogMel vs NWaves 0.9.6 ({window}): max |Δ log| = {worst:E2}");
        Assert.True(worst <= NWavesTolerance, $"max |Δ| between LogMel and NWaves is {worst:E3} (tolerance {NWavesTolerance:E0})");
    }

    [Fact]
    public void A_batch_of_three_equals_three_single_clips()
    {
        using var logMel = new LogMel();
        var clips = new[] { SpeechLike(12000, 1), SpeechLike(12000, 2), Tone(440, 12000) };
        using var batch = logMel.Compute(torch.stack(clips.Select(c => torch.tensor(c)).ToArray()));
        Assert.Equal(new long[] { 3, 40, logMel.FrameCount(12000) }, batch.shape);
        for (int i = 0; i < clips.Length; i++)
        {
            using var single = logMel.Compute(clips[i]);
            using var row = batch[i];
            double difference = (row - single).abs().max().item<float>();
            Assert.True(difference <= 1e-5, $"clip {i}: batched and single features differ by {difference:E2}");
        }
    }

    [Theory]
    [InlineData(16000, 98)]
    [InlineData(400, 1)]
    [InlineData(559, 1)]
    [InlineData(560, 2)]
    [InlineData(8000, 48)]
    public void Frame_count_is_one_plus_whole_hops_after_the_first_window(int samples, int frames)
    {
        using var logMel = new LogMel();
        Assert.Equal(frames, logMel.FrameCount(samples));
        using var features = logMel.Compute(new float[samples]);
        Assert.Equal(new long[] { 40, frames }, features.shape);
        Assert.Equal(frames, NWavesFilterbank(new float[samples], logMel.Options).Vectors.Count);
        Assert.Equal(0, logMel.FrameCount(399));
    }

    [Fact]
    public void A_one_kilohertz_tone_puts_its_energy_in_the_band_containing_one_kilohertz()
    {
        using var logMel = new LogMel();
        using var features = logMel.Compute(Tone(1000, Rate));
        var mean = Values(features.mean([1]));                              // (40) mean log energy per band
        int loudest = Array.IndexOf(mean, mean.Max());
        var (lower, centre, upper) = LogMel.BandHz(logMel.Options, loudest);
        Assert.True(lower < 1000 && 1000 < upper, $"the loudest band {loudest} spans {lower:0}–{upper:0} Hz, not 1 kHz");
        // 1 kHz is exactly FFT bin 32 (31.25 Hz per bin): the loudest band is the one weighting that bin most.
        var mel = Values(logMel.MelMatrix);
        int heaviest = Enumerable.Range(0, 40).OrderByDescending(m => mel[m * logMel.Options.Bins + 32]).First();
        Assert.Equal(heaviest, loudest);
        Assert.True(Math.Abs(centre - 1000) < 100, $"band {loudest} is centred at {centre:0} Hz");
        // Far bands hold only leakage: many nats below.
        int far = Enumerable.Range(0, 40).First(m => logMel.BandCentresHz[m] > 4000);
        Assert.True(mean[loudest] - mean[far] > 10, $"band {loudest}: {mean[loudest]:0.0}, band {far} (4 kHz): {mean[far]:0.0}");
    }

    [Fact]
    public void Silence_gives_the_log_floor()
    {
        using var logMel = new LogMel();
        using var features = logMel.Compute(new float[4000]);
        Assert.All(Values(features), v => Assert.Equal(Math.Log(1e-6), v, 4));
    }

    [Fact]
    public void Cpu_and_cuda_give_the_same_features()
    {
        // Runs where the CUDA build finds a GPU; elsewhere there is nothing to compare.
        using var logMel = new LogMel();
        if (!torch.cuda.is_available()) return;
        using var cpu = torch.tensor(SpeechLike(Rate)).reshape(1, -1);
        using var gpu = cpu.to(torch.CUDA);
        using var onCpu = logMel.Compute(cpu);
        using var onGpu = logMel.Compute(gpu);
        Assert.Equal(DeviceType.CUDA, onGpu.device_type);
        using var back = onGpu.cpu();
        double difference = (back - onCpu).abs().max().item<float>();
        Assert.True(difference <= 1e-4, $"CPU and CUDA features differ by {difference:E2}");
    }

    [Theory]
    [InlineData("SampleRate", "sample rate must be positive")]
    [InlineData("WindowMs", "window length must be a positive")]
    [InlineData("HopMs", "hop must be a positive")]
    [InlineData("Mels", "at least one mel band")]
    [InlineData("FftSize", "power of two")]
    [InlineData("FftShort", "shorter than the 400-sample window")]
    [InlineData("LowHz", "0 Hz or more")]
    [InlineData("HighHz", "at most half the sample rate (8000 Hz)")]
    [InlineData("Inverted", "must lie above the lowest")]
    [InlineData("LogFloor", "log floor must be a small positive number")]
    [InlineData("TooManyMels", "falls between the FFT bins")]
    public void Bad_options_give_one_clear_message(string what, string message)
    {
        var options = what switch
        {
            "SampleRate" => new LogMelOptions { SampleRate = 0 },
            "WindowMs" => new LogMelOptions { WindowMs = -25 },
            "HopMs" => new LogMelOptions { HopMs = 0 },
            "Mels" => new LogMelOptions { Mels = 0 },
            "FftSize" => new LogMelOptions { FftSize = 500 },
            "FftShort" => new LogMelOptions { FftSize = 256 },
            "LowHz" => new LogMelOptions { LowHz = -1 },
            "HighHz" => new LogMelOptions { HighHz = 9000 },
            "Inverted" => new LogMelOptions { LowHz = 5000, HighHz = 4000 },
            "LogFloor" => new LogMelOptions { LogFloor = 0 },
            _ => new LogMelOptions { Mels = 128 },
        };
        var error = Assert.ThrowsAny<EfficientMLException>(() => new LogMel(options));
        Assert.Contains(message, error.Message);
        Assert.Contains(message, Assert.ThrowsAny<EfficientMLException>(() => options.Validate()).Message);
    }

    [Fact]
    public void Audio_shorter_than_a_window_or_of_the_wrong_shape_gives_a_clear_message()
    {
        using var logMel = new LogMel();
        Assert.Contains("shorter than one 400-sample window", Assert.Throws<InvalidSettingsException>(() => logMel.Compute(new float[100])).Message);
        using var cube = torch.zeros(2, 2, 1000);
        Assert.Contains("(T) or (batch, T)", Assert.Throws<InvalidSettingsException>(() => logMel.Compute(cube)).Message);
        using var integers = torch.zeros(1000, dtype: torch.int16);
        Assert.Contains("floating-point samples", Assert.Throws<InvalidSettingsException>(() => logMel.Compute(integers)).Message);
    }
}
