namespace EfficientML.Audio;

/// <summary>
/// Turns one word (or nothing) into one fixed-length clip as the dataset options say: synthesis with jittered rate and
/// pitch, silence trimmed, a speed change, a random gain and shift, the voice augmentations that are on (tempo, vocal-tract
/// warp, a room), optional 4 kHz band limit, noise at a random SNR. Festival speakers need
/// <paramref name="festival"/>.
/// </summary>
internal sealed class ClipRenderer(SpeechSynthesizer synthesizer, NoiseLibrary noise, KeywordDatasetOptions options, FestivalSynthesizer? festival = null)
{
    /// <summary>A clip of <paramref name="word"/> said by <paramref name="speaker"/>.</summary>
    public (float[] Audio, KeywordClip Clip) Word(string word, int label, Speaker speaker, Random rng)
    {
        int rateOffset = rng.Next(-options.RateJitter, options.RateJitter + 1);
        int pitchOffset = rng.Next(-options.PitchJitter, options.PitchJitter + 1);
        int seed = rng.Next();
        double speed = 1 + options.SpeedPerturbation * (2 * rng.NextDouble() - 1);
        // The voice augmentations draw only when they are on, so a dataset without them is what it always was.
        double warp = options.VocalTractWarp > 0 ? 1 + options.VocalTractWarp * (2 * rng.NextDouble() - 1) : 1;
        double tempo = options.TempoPerturbation > 0 ? 1 + options.TempoPerturbation * (2 * rng.NextDouble() - 1) : 1;
        int maxSamples = (int)(options.ClipSamples * Math.Min(speed, 1) * Math.Min(tempo, 1));
        var speech = Perturb(Speak(word, speaker, rateOffset, pitchOffset, seed, maxSamples, out var voice), speed);
        float gain = (float)(0.3 + 0.6 * rng.NextDouble()) / Math.Max((float)AudioMixing.Peak(speech), 1e-4f);
        int room = options.ClipSamples - speech.Length;
        int maxShift = Math.Min((int)(options.MaxShiftSeconds * options.SampleRate), room / 2);
        int shift = rng.Next(-maxShift, maxShift + 1);
        var audio = new float[options.ClipSamples];
        int start = room / 2 + shift;
        for (int i = 0; i < speech.Length; i++) audio[start + i] = speech[i] * gain;
        if (tempo != 1) audio = VoiceAugmentation.ChangeTempo(audio, options.SampleRate, tempo);
        if (warp != 1) audio = VoiceAugmentation.WarpVocalTract(audio, options.SampleRate, warp);
        double rt60 = 0;
        if (options.ReverbShare > 0 && rng.NextDouble() < options.ReverbShare)
        {
            rt60 = KeywordDatasetOptions.MinReverbSeconds + (KeywordDatasetOptions.MaxReverbSeconds - KeywordDatasetOptions.MinReverbSeconds) * rng.NextDouble();
            audio = VoiceAugmentation.Reverberate(audio, VoiceAugmentation.RoomImpulse(rng, options.SampleRate, rt60, directToReverberantDb: 12 * rng.NextDouble()));
        }
        bool telephone = rng.NextDouble() < options.TelephoneShare;
        if (telephone) audio = AudioMixing.LowPass(audio, options.SampleRate, 4000);
        double snr = double.NaN;
        if (rng.NextDouble() < options.NoiseShare)
        {
            snr = options.MinSnrDb + (options.MaxSnrDb - options.MinSnrDb) * rng.NextDouble();
            audio = AudioMixing.MixAtSnr(audio, noise.Excerpt(rng, audio.Length), snr);
        }
        return (audio, new KeywordClip(label, word, speaker.Name, voice.Rate, voice.Pitch, snr, (double)shift / options.SampleRate, telephone, speed,
            warp, tempo, rt60));
    }

    /// <summary>The word played <paramref name="speed"/> times faster (resampled: shorter, and higher in pitch and formants).</summary>
    float[] Perturb(float[] speech, double speed)
    {
        if (speed == 1) return speech;
        var result = Resampler.Resample(speech, (int)Math.Round(options.SampleRate * speed), options.SampleRate);
        return result.Length <= options.ClipSamples ? result : result.AsSpan((result.Length - options.ClipSamples) / 2, options.ClipSamples).ToArray();
    }

    /// <summary>A clip without speech: a noise excerpt at a random level (sometimes near-digital silence).</summary>
    public (float[] Audio, KeywordClip Clip) Silence(Random rng, int label)
    {
        var audio = noise.Excerpt(rng, options.ClipSamples);
        double level = rng.NextDouble() < 0.1 ? 1e-4 : Math.Pow(10, -3 + 2 * rng.NextDouble());      // RMS 0.001 … 0.1
        float scale = (float)(level / Math.Max(AudioMixing.Rms(audio), 1e-9));
        for (int i = 0; i < audio.Length; i++) audio[i] *= scale;
        bool telephone = rng.NextDouble() < options.TelephoneShare;
        if (telephone) audio = AudioMixing.LowPass(audio, options.SampleRate, 4000);
        return (audio, new KeywordClip(label, "", "", 0, 0, double.NaN, 0, telephone));
    }

    /// <summary>
    /// The word's samples without leading and trailing silence, at most <paramref name="maxSamples"/> long: a word that
    /// does not fit is said up to twice more, faster each time, and only then cut at both ends.
    /// </summary>
    public float[] Speak(string word, Speaker speaker, int rateOffset, int pitchOffset, int seed, int maxSamples, out SynthesisVoice voice)
    {
        float[] speech = [];
        voice = speaker.Voice(rateOffset, pitchOffset);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            voice = speaker.Voice(rateOffset + 60 * attempt, pitchOffset);
            speech = TrimSilence(Synthesize(word, speaker, voice, rateOffset + 60 * attempt, pitchOffset, seed), options.SampleRate);
            if (speech.Length <= maxSamples) return speech;
        }
        int cut = (speech.Length - maxSamples) / 2;
        return speech.AsSpan(cut, maxSamples).ToArray();
    }

    float[] Synthesize(string word, Speaker speaker, SynthesisVoice voice, int rateOffset, int pitchOffset, int seed)
    {
        if (speaker.Engine == SpeechEngine.Espeak) return synthesizer.Synthesize(word, voice, seed).Samples;
        if (festival is null)
            throw new Core.InvalidSettingsException($"The speaker {speaker.Name} is a Festival voice, but no Festival synthesizer was given (FestivalSynthesizer.Open()).");
        var (stretch, pitchHz) = speaker.FestivalProsody(rateOffset, pitchOffset);
        return festival.Synthesize(word, speaker.Variant, stretch, pitchHz);
    }

    /// <summary>
    /// <paramref name="samples"/> from the first to the last 10 ms frame whose RMS reaches 2 % of the loudest frame's, with
    /// 20 ms kept on either side.
    /// </summary>
    public static float[] TrimSilence(float[] samples, int sampleRate)
    {
        int frame = sampleRate / 100, frames = samples.Length / frame;
        if (frames == 0) return samples;
        var rms = new double[frames];
        for (int f = 0; f < frames; f++) rms[f] = AudioMixing.Rms(samples.AsSpan(f * frame, frame));
        double threshold = 0.02 * rms.Max();
        int first = Array.FindIndex(rms, r => r >= threshold), last = Array.FindLastIndex(rms, r => r >= threshold);
        if (first < 0) return [];
        int start = Math.Max(0, (first - 2) * frame), end = Math.Min(samples.Length, (last + 3) * frame);
        return samples.AsSpan(start, end - start).ToArray();
    }
}
