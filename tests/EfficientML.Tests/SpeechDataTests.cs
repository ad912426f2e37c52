using System.Buffers.Binary;
using System.Text;
using EfficientML.Core;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;

namespace EfficientML.Tests;

public class SpeechDataTests
{
    static float[] Tone(double hz, int rate, int length, double amplitude = 0.5) =>
        Enumerable.Range(0, length).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / rate))).ToArray();

    static double Db(double ratio) => 10 * Math.Log10(ratio);

    static double MeanSquare(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (var v in x) sum += (double)v * v;
        return sum / x.Length;
    }

    static string TempFile(string name) => Path.Combine(Path.GetTempPath(), $"efficientml-{Guid.NewGuid():N}-{name}");

    /// <summary>A WAV file with a plain or extensible 'fmt ' chunk, an extra chunk before the data, and raw sample bytes.</summary>
    static byte[] Wav(ushort format, ushort channels, int rate, ushort bits, byte[] data, bool extensible = false)
    {
        var fmt = new byte[extensible ? 40 : 16];
        BinaryPrimitives.WriteUInt16LittleEndian(fmt, extensible ? (ushort)0xFFFE : format);
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(2), channels);
        BinaryPrimitives.WriteInt32LittleEndian(fmt.AsSpan(4), rate);
        BinaryPrimitives.WriteInt32LittleEndian(fmt.AsSpan(8), rate * channels * bits / 8);
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(12), (ushort)(channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(14), bits);
        if (extensible)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(16), 22);
            BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(18), bits);
            BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(24), format);
        }
        var stream = new MemoryStream();
        void Chunk(string id, byte[] body)
        {
            stream.Write(Encoding.ASCII.GetBytes(id));
            stream.Write(BitConverter.GetBytes(body.Length));
            stream.Write(body);
            if (body.Length % 2 == 1) stream.WriteByte(0);
        }
        stream.Write("RIFF"u8);
        stream.Write(new byte[4]);
        stream.Write("WAVE"u8);
        Chunk("fmt ", fmt);
        Chunk("LIST", Encoding.ASCII.GetBytes("INFOodd"));
        Chunk("data", data);
        var bytes = stream.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), bytes.Length - 8);
        return bytes;
    }

    [Fact]
    public void Sixteen_bit_wav_round_trips_exactly()
    {
        var rng = new Random(1);
        var samples = Enumerable.Range(0, 4001).Select(_ => rng.Next(short.MinValue, short.MaxValue + 1) / 32768f).ToArray();
        samples[0] = -1f;
        samples[1] = 32767 / 32768f;
        var path = TempFile("round-trip.wav");
        try
        {
            WaveFile.Write(path, new AudioClip(samples, 22050));
            var back = WaveFile.Read(path);
            Assert.Equal(22050, back.SampleRate);
            Assert.Equal(samples, back.Samples);
            Assert.Equal(44 + 2 * samples.Length, new FileInfo(path).Length);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_shipped_clip_rewrites_to_the_same_bytes()
    {
        var path = Path.Combine(ProjectPaths.Dataset("real-voice"), "seven.wav");
        Assert.Equal(File.ReadAllBytes(path), WaveFile.ToBytes(WaveFile.Read(path)));
    }

    [Fact]
    public void The_bytes_form_is_a_complete_wav_file()
    {
        var clip = new AudioClip([0f, 0.5f, -0.5f, 1.5f, -2f], 16000);
        var bytes = WaveFile.ToBytes(clip);
        Assert.Equal("RIFF", Encoding.ASCII.GetString(bytes, 0, 4));
        Assert.Equal(bytes.Length - 8, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(44 + 10, bytes.Length);
        var back = WaveFile.FromBytes(bytes);
        Assert.Equal(16000, back.SampleRate);
        Assert.Equal(new[] { 0f, 0.5f, -0.5f, 32767 / 32768f, -1f }, back.Samples);   // beyond ±1 is clipped
        Assert.Contains("finite", Assert.Throws<InvalidSettingsException>(() => WaveFile.ToBytes(new AudioClip([float.NaN], 16000))).Message);
    }

    [Fact]
    public void Float_8_bit_24_bit_and_stereo_files_are_read_as_mono()
    {
        var floats = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(floats, 0.25f);
        BinaryPrimitives.WriteSingleLittleEndian(floats.AsSpan(4), -0.75f);
        Assert.Equal(new[] { 0.25f, -0.75f }, WaveFile.FromBytes(Wav(3, 1, 8000, 32, floats)).Samples);
        Assert.Equal(new[] { 0.25f, -0.75f }, WaveFile.FromBytes(Wav(3, 1, 8000, 32, floats, extensible: true)).Samples);

        // Left and right float channels average.
        Assert.Equal(new[] { -0.25f }, WaveFile.FromBytes(Wav(3, 2, 8000, 32, floats)).Samples);

        Assert.Equal(new[] { -1f, 0f, 127 / 128f }, WaveFile.FromBytes(Wav(1, 1, 8000, 8, [0, 128, 255])).Samples);

        byte[] pcm24 = [0x00, 0x00, 0x80, 0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x40];              // −2^23, 2^23−1, 2^22
        var clip24 = WaveFile.FromBytes(Wav(1, 1, 48000, 24, pcm24));
        Assert.Equal(48000, clip24.SampleRate);
        Assert.Equal(new[] { -1f, (float)(8388607 / 8388608.0), 0.5f }, clip24.Samples);

        var stereo16 = new byte[8];
        BinaryPrimitives.WriteInt16LittleEndian(stereo16, 16384);
        BinaryPrimitives.WriteInt16LittleEndian(stereo16.AsSpan(2), 0);
        BinaryPrimitives.WriteInt16LittleEndian(stereo16.AsSpan(4), -32768);
        BinaryPrimitives.WriteInt16LittleEndian(stereo16.AsSpan(6), -16384);
        Assert.Equal(new[] { 0.25f, -0.75f }, WaveFile.FromBytes(Wav(1, 2, 8000, 16, stereo16)).Samples);
    }

    [Fact]
    public void Bad_and_missing_files_give_one_clear_message()
    {
        var missing = TempFile("missing.wav");
        Assert.Contains(missing, Assert.Throws<MissingFileException>(() => WaveFile.Read(missing)).Message);

        var text = TempFile("notes.wav");
        try
        {
            File.WriteAllText(text, "these are not samples");
            var message = Assert.Throws<InvalidFileException>(() => WaveFile.Read(text)).Message;
            Assert.Contains(text, message);
            Assert.Contains("RIFF/WAVE header", message);
        }
        finally { File.Delete(text); }

        var mu = Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(Wav(7, 1, 8000, 8, [1, 2]), "phone.wav")).Message;
        Assert.Contains("'phone.wav'", mu);
        Assert.Contains("format 7", mu);
        Assert.Contains("12-bit PCM", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(Wav(1, 1, 8000, 12, [1, 2, 3]))).Message);
        var noData = WaveFile.ToBytes(new AudioClip([0.1f], 8000))[..36];
        Assert.Contains("the file is truncated", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(noData)).Message);
        BinaryPrimitives.WriteUInt32LittleEndian(noData.AsSpan(4), 36 - 8);
        Assert.Contains("no 'data' chunk", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(noData)).Message);
    }

    [Fact]
    public void Header_lies_are_refused_not_read_as_short_or_silent_audio()
    {
        var good = WaveFile.ToBytes(new AudioClip(Enumerable.Range(0, 1000).Select(i => MathF.Sin(i * 0.1f) * 0.5f).ToArray(), 16000));
        // The data chunk says 2,000 bytes, but the file was cut after 1,000 of them.
        var cut = good[..(44 + 1000)];
        Assert.Contains("the file is truncated", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(cut)).Message);
        // A streaming writer's size (0 or 0xFFFFFFFF) still means "to the end".
        var streamed = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(streamed.AsSpan(40), uint.MaxValue);
        Assert.Equal(1000, WaveFile.FromBytes(streamed).Samples.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(streamed.AsSpan(4), 0);
        Assert.Equal(1000, WaveFile.FromBytes(streamed).Samples.Length);
        // 65,535 channels of 16 bits: the header's own frame size contradicts it.
        var channels = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(channels.AsSpan(22), ushort.MaxValue);
        Assert.Contains("but 65,535 channels × 16 bits make 131070", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(channels)).Message);
        // The sample rate changed and the byte rate not: one of them is damaged.
        var rate = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(rate.AsSpan(24), 7999);
        Assert.Contains("the sample rate or the byte rate is damaged", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(rate)).Message);
        // The RIFF size contradicts the file's length.
        var riff = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(riff.AsSpan(4), (uint)good.Length - 20);
        Assert.Contains("its RIFF header says", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(riff)).Message);
        BinaryPrimitives.WriteUInt32LittleEndian(riff.AsSpan(4), (uint)good.Length - 9);
        Assert.Contains("its RIFF header says", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(riff)).Message);
        BinaryPrimitives.WriteUInt32LittleEndian(riff.AsSpan(4), 0);
        Assert.Contains("leaves the size open", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(riff)).Message);
        // A data chunk two frames short of the samples that follow it: four bytes belong to no chunk.
        var shortData = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(shortData.AsSpan(40), 2000 - 4);
        Assert.Contains("belong to no chunk", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(shortData)).Message);
        // A data chunk of one byte.
        var oneByte = good[..45];
        BinaryPrimitives.WriteUInt32LittleEndian(oneByte.AsSpan(4), 45 - 8);
        BinaryPrimitives.WriteUInt32LittleEndian(oneByte.AsSpan(40), 1);
        Assert.Contains("holds no whole frame", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(oneByte)).Message);
        // 16-bit PCM relabelled as 32-bit float: the bytes read as huge or NaN values, not audio.
        var relabelled = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(relabelled.AsSpan(20), 3);
        BinaryPrimitives.WriteUInt16LittleEndian(relabelled.AsSpan(34), 32);
        BinaryPrimitives.WriteUInt16LittleEndian(relabelled.AsSpan(32), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(relabelled.AsSpan(28), 16000 * 4);
        Assert.Contains("are probably not", Assert.Throws<InvalidFileException>(() => WaveFile.FromBytes(relabelled)).Message);
    }

    [Fact]
    public void A_clip_resamples_to_another_rate()
    {
        var clip = new AudioClip(Tone(440, 8000, 8000), 8000);
        Assert.Equal(1.0, clip.Seconds);
        var up = clip.Resampled(16000);
        Assert.Equal(16000, up.SampleRate);
        Assert.Equal(16000, up.Samples.Length);
        Assert.Equal(AudioMixing.Rms(clip.Samples.AsSpan(1000, 6000)), AudioMixing.Rms(up.Samples.AsSpan(2000, 12000)), 3);
        Assert.Same(clip, clip.Resampled(8000));
        Assert.Throws<InvalidSettingsException>(() => new AudioClip([], 0));
    }

    [Fact]
    public void The_noise_library_has_several_16_kHz_recordings_and_seeded_excerpts()
    {
        var noise = NoiseLibrary.Load();
        Assert.True(noise.Names.Count >= 6, $"only {noise.Names.Count} noise recordings");
        Assert.All(noise.Names, n => Assert.Equal(16000, noise.Clip(n).SampleRate));
        Assert.All(noise.Names, n => Assert.InRange(noise.Clip(n).Seconds, 1, 15.01));

        var first = Enumerable.Range(0, 5).Select(_ => noise.Excerpt(new Random(7), 16000)).ToList();
        Assert.All(first, e => Assert.Equal(first[0], e));
        Assert.True(AudioMixing.Rms(first[0]) > 1e-4, "a one-second excerpt is silent");
        var rng = new Random(7);
        var draws = Enumerable.Range(0, 20).Select(_ => noise.Excerpt(rng, 16000)).ToList();
        Assert.Equal(first[0], draws[0]);
        Assert.Contains(draws, d => !d.SequenceEqual(draws[0]));

        // Longer than the recording: it loops.
        var shortest = noise.Names.MinBy(n => noise.Clip(n).Samples.Length)!;
        var source = noise.Clip(shortest).Samples;
        var looped = noise.Excerpt(new Random(3), 2 * source.Length + 5, shortest);
        Assert.Equal(2 * source.Length + 5, looped.Length);
        Assert.Equal(looped.AsSpan(0, source.Length).ToArray(), looped.AsSpan(source.Length, source.Length).ToArray());
    }

    [Fact]
    public void A_missing_noise_folder_says_how_to_remake_it()
    {
        var folder = TempFile("no-noise");
        var message = Assert.Throws<MissingFileException>(() => NoiseLibrary.Load(folder)).Message;
        Assert.Contains(folder, message);
        Assert.Contains("make.sh", message);
    }

    [Fact]
    public void The_real_voice_set_has_the_digits_and_commands_at_16_kHz()
    {
        var set = RealVoiceSet.Load();
        string[] needed = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "hello", "goodbye", "pause", "record"];
        Assert.All(needed, w => Assert.Contains(w, set.Words));
        Assert.True(set.Words.Count > needed.Length + 5, "too few words to serve as unknown words");
        Assert.True(set.Clips.Count > 100, $"only {set.Clips.Count} clips");
        // Words that sound like keywords but are not: the real test of rejecting unknown words.
        Assert.All(["seventeen", "nineteen", "paused", "ninety", "first", "golf", "b"], w => Assert.Contains(w, set.Words));
        Assert.Equal(set.Clips.Count, Directory.GetFiles(set.Folder, "*.wav").Length);
        Assert.All(set.Clips, c => Assert.Equal(16000, c.Clip.SampleRate));
        Assert.All(set.Clips, c => Assert.InRange(c.Clip.Seconds, 0.4, 1.2));
        var seven = set.Clip("Seven");
        Assert.True(AudioMixing.Rms(seven.Samples) > 0.01, "the clip for 'seven' is nearly silent");
        Assert.Contains("It has:", Assert.Throws<InvalidSettingsException>(() => set.Clip("marvin")).Message);
    }

    [Theory]
    [InlineData(-5.0)]
    [InlineData(0.0)]
    [InlineData(12.5)]
    [InlineData(30.0)]
    public void Noise_is_mixed_at_the_asked_snr(double snr)
    {
        var speech = Tone(440, 16000, 16000, 0.3);
        var noise = NoiseLibrary.Load().Excerpt(new Random(5), 16000);
        var mixed = AudioMixing.MixAtSnr(speech, noise, snr);
        var added = mixed.Zip(speech, (m, s) => m - s).ToArray();
        Assert.InRange(Db(MeanSquare(speech) / MeanSquare(added)), snr - 0.1, snr + 0.1);
    }

    [Fact]
    public void The_snr_is_measured_over_the_word_not_the_silence_around_it()
    {
        var speech = new float[16000];
        Tone(300, 16000, 4000, 0.4).CopyTo(speech, 6000);
        var noise = Tone(2500, 16000, 700, 0.1);                                              // shorter: looped
        var mixed = AudioMixing.MixAtSnr(speech, noise, 6);
        var added = mixed.Zip(speech, (m, s) => m - s).ToArray();
        var (start, end) = AudioMixing.ActiveSpan(speech);
        Assert.InRange(start, 6000, 6020);
        Assert.InRange(end, 9980, 10000);
        Assert.InRange(Db(MeanSquare(speech.AsSpan(start, end - start)) / MeanSquare(added.AsSpan(start, end - start))), 5.9, 6.1);
        Assert.NotEqual(0f, added[100]);                                                       // noise under the silence too
    }

    [Fact]
    public void Mixing_rejects_what_cannot_work()
    {
        var speech = Tone(440, 16000, 1000);
        Assert.Contains("SNR", Assert.Throws<InvalidSettingsException>(() => AudioMixing.MixAtSnr(speech, speech, double.NaN)).Message);
        Assert.Contains("silent", Assert.Throws<InvalidSettingsException>(() => AudioMixing.MixAtSnr(new float[100], speech, 10)).Message);
        Assert.Contains("silent", Assert.Throws<InvalidSettingsException>(() => AudioMixing.MixAtSnr(speech, new float[100], 10)).Message);
        Assert.Contains("Nyquist", Assert.Throws<InvalidSettingsException>(() => AudioMixing.LowPass(speech, 16000, 9000)).Message);
    }

    [Fact]
    public void The_low_pass_removes_6_kHz_and_keeps_1_kHz()
    {
        const int rate = 16000;
        var middle = new Range(1000, 15000);                                                   // away from the edges
        var high = Tone(6000, rate, rate);
        var low = Tone(1000, rate, rate);
        var highOut = AudioMixing.LowPass(high, rate, 4000);
        var lowOut = AudioMixing.LowPass(low, rate, 4000);
        Assert.True(Db(MeanSquare(highOut.AsSpan()[middle]) / MeanSquare(high.AsSpan()[middle])) <= -40,
            $"6 kHz only {Db(MeanSquare(highOut.AsSpan()[middle]) / MeanSquare(high.AsSpan()[middle])):F1} dB down");
        Assert.InRange(Db(MeanSquare(lowOut.AsSpan()[middle]) / MeanSquare(low.AsSpan()[middle])), -0.5, 0.5);
        // Linear phase, centred: the 1 kHz tone comes out in place.
        var difference = lowOut.AsSpan()[middle].ToArray().Zip(low.AsSpan()[middle].ToArray(), (a, b) => a - b).ToArray();
        Assert.True(AudioMixing.Rms(difference) < 0.01 * AudioMixing.Rms(low), "the filtered tone is delayed or distorted");
    }

    [Fact]
    public void Shift_moves_samples_and_fills_with_zeros()
    {
        float[] x = [1, 2, 3, 4, 5];
        Assert.Equal(new float[] { 0, 0, 1, 2, 3 }, AudioMixing.Shift(x, 2));
        Assert.Equal(new float[] { 3, 4, 5, 0, 0 }, AudioMixing.Shift(x, -2));
        Assert.Equal(x, AudioMixing.Shift(x, 0));
        Assert.Equal(new float[5], AudioMixing.Shift(x, 7));
        Assert.Equal(new float[5], AudioMixing.Shift(x, int.MinValue));
        Assert.Equal(new float[] { 1, 2, 3, 4, 5 }, x);                                        // input untouched
    }

    [Fact]
    public void Levels_normalise()
    {
        float[] x = [0.1f, -0.4f, 0.2f];
        Assert.Equal(0.9, AudioMixing.Peak(AudioMixing.NormalizePeak(x)), 6);
        Assert.Equal(0.05, AudioMixing.Rms(AudioMixing.NormalizeRms(x, 0.05)), 6);
        Assert.Equal(Math.Sqrt((0.01 + 0.16 + 0.04) / 3), AudioMixing.Rms(x), 6);
        Assert.Equal(new float[3], AudioMixing.NormalizePeak(new float[3]));
    }
}
