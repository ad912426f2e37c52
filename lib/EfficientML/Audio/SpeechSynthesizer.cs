using EfficientML.Core;
using System.Runtime.InteropServices;
using System.Text;

namespace EfficientML.Audio;

/// <summary>Who speaks and how: an espeak-ng voice (e.g. "en-us", "en" (British)), an optional variant (e.g. "f3", "m2", "klatt"), speed and pitch.</summary>
public sealed record SynthesisVoice
{
    /// <summary>espeak-ng voice name.</summary>
    public string Voice { get; init; } = "en-us";

    /// <summary>espeak-ng variant (speaker character), or null for the voice's own.</summary>
    public string? Variant { get; init; }

    /// <summary>Speaking rate in words per minute (80 … 450; espeak-ng's default 175).</summary>
    public int Rate { get; init; } = 175;

    /// <summary>Base pitch, 0 … 99 (default 50).</summary>
    public int Pitch { get; init; } = 50;

    /// <summary>Pitch range (intonation), 0 … 99 (default 50).</summary>
    public int PitchRange { get; init; } = 50;

    /// <summary>The name espeak-ng is given: voice+variant.</summary>
    public string FullName => Variant is null ? Voice : $"{Voice}+{Variant}";

    /// <summary>Throws one clear message for a setting that cannot work.</summary>
    public SynthesisVoice Validate()
    {
        if (string.IsNullOrWhiteSpace(Voice)) throw new InvalidSettingsException("Name a voice, e.g. \"en-us\".");
        if (Rate < 80 || Rate > 450) throw new InvalidSettingsException($"The rate is in words per minute, 80..450, not {Rate}.");
        if (Pitch < 0 || Pitch > 99) throw new InvalidSettingsException($"The pitch lies in 0..99, not {Pitch}.");
        if (PitchRange < 0 || PitchRange > 99) throw new InvalidSettingsException($"The pitch range lies in 0..99, not {PitchRange}.");
        return this;
    }
}

/// <summary>A phoneme (IPA) and when it starts in the audio, in seconds.</summary>
public sealed record PhonemeTiming(string Phoneme, double Start);

/// <summary>Synthesised audio: mono float samples in −1 … 1 at <see cref="SampleRate"/>, and the phonemes' start times.</summary>
public sealed record SynthesizedSpeech(float[] Samples, int SampleRate, IReadOnlyList<PhonemeTiming> Phonemes)
{
    /// <summary>Length in seconds.</summary>
    public double Seconds => (double)Samples.Length / SampleRate;
}

/// <summary>
/// Text to speech with espeak-ng, called in-process through <c>libespeak-ng.so.1</c>: 16 kHz mono audio with any installed
/// voice and variant, rate and pitch; the phonemes of a text (espeak's ASCII names or IPA); and when each phoneme starts.
/// espeak-ng keeps global state, so every call is serialised on one lock (the synthesizer is safe to use from any thread).
/// </summary>
public sealed unsafe class SpeechSynthesizer : IDisposable
{
    /// <summary>Sample rate of everything this class returns.</summary>
    public const int SampleRate = 16000;

    /// <summary>The library name the system loader searches by default.</summary>
    public const string DefaultLibrary = "libespeak-ng.so.1";

    static readonly object Gate = new();
    static readonly Dictionary<string, SpeechSynthesizer> Opened = new();
    static List<short>? _samples;
    static List<(string Name, int Milliseconds)>? _events;

    readonly EspeakNative _native;
    readonly string? _privateCopy;
    bool _disposed;

    SpeechSynthesizer(EspeakNative native, int nativeRate, string? privateCopy = null)
    {
        _native = native;
        NativeSampleRate = nativeRate;
        _privateCopy = privateCopy;
    }

    /// <summary>The rate espeak-ng synthesises at (22,050 Hz), before resampling to <see cref="SampleRate"/>.</summary>
    public int NativeSampleRate { get; }

    /// <summary>
    /// The synthesizer for the espeak-ng library at <paramref name="libraryPath"/> (default: <see cref="DefaultLibrary"/>).
    /// Throws <see cref="EspeakNotFoundException"/>, naming the package to install, when it cannot be loaded.
    /// </summary>
    public static SpeechSynthesizer Open(string? libraryPath = null)
    {
        var path = libraryPath ?? DefaultLibrary;
        lock (Gate)
        {
            if (Opened.TryGetValue(path, out var open)) return open;
            var native = EspeakNative.Load(path);
            if (Opened.Count > 0)
                throw new EfficientMLException($"espeak-ng is already loaded from '{Opened.Keys.First()}'; one process shares one espeak-ng library (OpenFresh gives a private one).");
            return Opened[path] = Start(native, privateCopy: null);
        }
    }

    /// <summary>
    /// A synthesizer with its own copy of espeak-ng's state, starting clean. espeak-ng's wave generator carries state from
    /// one utterance to the next, so the same text and seed sound slightly different depending on what was spoken
    /// before; a fresh synthesizer that is given the same calls in the same order gives the same samples every time
    /// (the keyword dataset builder opens one per build). It loads a private copy of the library file from a temporary
    /// folder; dispose it to unload the copy.
    /// </summary>
    public static SpeechSynthesizer OpenFresh(string? libraryPath = null)
    {
        var source = ResolveLibraryFile(libraryPath ?? DefaultLibrary);
        var copy = Path.Combine(Path.GetTempPath(), $"efficientml-espeak-{Environment.ProcessId}-{Guid.NewGuid():N}.so");
        File.Copy(source, copy);
        lock (Gate)
        {
            try
            {
                return Start(EspeakNative.Load(copy), copy);
            }
            catch
            {
                File.Delete(copy);
                throw;
            }
        }
    }

    /// <summary>
    /// Speaks <paramref name="text"/> with <paramref name="voice"/>: 16 kHz samples and phoneme start times. espeak-ng varies
    /// its pitch and noise with the C library's random numbers; they are seeded with <paramref name="seed"/> first. The wave
    /// generator also carries a little state from one utterance to the next, so the samples are exactly repeatable for a
    /// synthesizer from <see cref="OpenFresh"/> given the same calls in the same order.
    /// </summary>
    public SynthesizedSpeech Synthesize(string text, SynthesisVoice? voice = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(text);
        var v = (voice ?? new SynthesisVoice()).Validate();
        ThrowIfDisposed();
        short[] raw;
        List<(string Name, int Milliseconds)> events;
        lock (Gate)
        {
            ThrowIfDisposed();
            UseVoice(v);
            srand(unchecked((uint)seed));
            _samples = new List<short>(NativeSampleRate);
            _events = new List<(string, int)>();
            try
            {
                var bytes = Utf8(text);
                fixed (byte* p = bytes)
                {
                    int error = _native.Synth(p, (nuint)bytes.Length, 0, EspeakNative.PositionCharacter, 0, EspeakNative.CharsUtf8, null, null);
                    if (error != 0) throw new EfficientMLException($"espeak-ng could not speak this text (error {error}).");
                }
                _native.Synchronize();
                raw = _samples.ToArray();
                events = _events;
            }
            finally
            {
                _samples = null;
                _events = null;
            }
        }
        var floats = new float[raw.Length];
        for (int i = 0; i < raw.Length; i++) floats[i] = raw[i] / 32768f;
        var audio = Resampler.Resample(floats, NativeSampleRate, SampleRate);
        var phonemes = events.Where(e => e.Name.Length > 0).Select(e => new PhonemeTiming(e.Name, e.Milliseconds / 1000.0)).ToList();
        return new SynthesizedSpeech(audio, SampleRate, phonemes);
    }

    /// <summary>The phonemes of <paramref name="text"/>: espeak-ng's ASCII phoneme names, or IPA when <paramref name="ipa"/>.</summary>
    public string Phonemes(string text, bool ipa = false, SynthesisVoice? voice = null) => Phonemes(text, ipa ? 0x02 : 0, voice);

    /// <summary>
    /// The phonemes of <paramref name="text"/> as espeak-ng's ASCII phoneme names with <paramref name="separator"/> between
    /// the phonemes of a word (words stay separated by spaces), so that multi-character names such as "tS" or "aI@" come
    /// out as clean tokens. Stress marks stay attached to the vowel they precede.
    /// </summary>
    public string PhonemeNames(string text, char separator = '_', SynthesisVoice? voice = null)
    {
        if (separator is <= ' ' or > '~' or '\'' or ',' or '%' or '=')
            throw new InvalidSettingsException($"The phoneme separator must be a printable ASCII character other than a space or a stress mark, not U+{(int)separator:X4}; '_' is usual.");
        return Phonemes(text, separator << 8, voice);
    }

    /// <summary>espeak_TextToPhonemes over every clause; <paramref name="mode"/> is its phonememode (bit 1 IPA, bits 8–23 a separator).</summary>
    string Phonemes(string text, int mode, SynthesisVoice? voice)
    {
        ArgumentNullException.ThrowIfNull(text);
        var v = (voice ?? new SynthesisVoice()).Validate();
        lock (Gate)
        {
            ThrowIfDisposed();
            UseVoice(v);
            var bytes = Utf8(text);
            var clauses = new List<string>();
            fixed (byte* p = bytes)
            {
                void* cursor = p;
                while (cursor != null)
                {
                    var result = _native.TextToPhonemes(&cursor, EspeakNative.CharsUtf8, mode);
                    if (result == null) break;
                    var clause = Marshal.PtrToStringUTF8((IntPtr)result);
                    if (!string.IsNullOrEmpty(clause)) clauses.Add(clause.Trim());
                }
            }
            return string.Join(" ", clauses);
        }
    }

    /// <summary>Initialises a loaded library (synchronous audio, phoneme events in IPA) and routes its audio to <see cref="OnAudio"/>.</summary>
    static SpeechSynthesizer Start(EspeakNative native, string? privateCopy)
    {
        int rate = native.Initialize(EspeakNative.AudioOutputSynchronous, 0, null, Options);
        if (rate <= 0)
            throw new EspeakNotFoundException("espeak-ng did not start: its voice data is missing. Reinstall the Debian package espeak-ng (it brings espeak-ng-data).");
        native.SetSynthCallback(&OnAudio);
        return new SpeechSynthesizer(native, rate, privateCopy);
    }

    /// <summary>Unloads a synthesizer from <see cref="OpenFresh"/>; the shared one from <see cref="Open"/> stays loaded.</summary>
    public void Dispose()
    {
        if (_privateCopy is null) return;
        lock (Gate)
        {
            if (_disposed) return;
            _disposed = true;
            _native.Terminate();
            _native.Free();
        }
        try { File.Delete(_privateCopy); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>The file the system loader would load for <paramref name="library"/> (a path, or a name such as libespeak-ng.so.1).</summary>
    static string ResolveLibraryFile(string library)
    {
        var native = EspeakNative.Load(library);
        return native.FileName ?? throw new EspeakNotFoundException($"Could not find the file behind '{library}'; pass the full path of libespeak-ng.so.1.");
    }

    const int Options = EspeakNative.InitializePhonemeEvents | EspeakNative.InitializePhonemeIpa | EspeakNative.InitializeDontExit;

    void UseVoice(SynthesisVoice v)
    {
        var name = Utf8(v.FullName);
        fixed (byte* p = name)
            if (_native.SetVoiceByName(p) != 0)
                throw new InvalidSettingsException($"espeak-ng has no voice '{v.FullName}'. Try \"en-us\", \"en\" (British) or \"en-gb-scotland\", with a variant such as \"m3\" or \"f2\" (espeak-ng --voices lists them).");
        _native.SetParameter(EspeakNative.ParameterRate, v.Rate, 0);
        _native.SetParameter(EspeakNative.ParameterPitch, v.Pitch, 0);
        _native.SetParameter(EspeakNative.ParameterRange, v.PitchRange, 0);
        _native.SetParameter(EspeakNative.ParameterVolume, 100, 0);
    }

    [DllImport("libc", EntryPoint = "srand")]
    static extern void srand(uint seed);

    static byte[] Utf8(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];                // NUL-terminated
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    [UnmanagedCallersOnly]
    static int OnAudio(short* wav, int count, EspeakEvent* events)
    {
        if (_samples is null || _events is null) return 0;
        for (int i = 0; i < count; i++) _samples.Add(wav[i]);
        for (var e = events; e != null && e->Type != EspeakNative.EventListTerminated; e++)
            if (e->Type == EspeakNative.EventPhoneme)
            {
                int length = 0;
                while (length < 8 && e->Id[length] != 0) length++;
                _events.Add((Encoding.UTF8.GetString(e->Id, length), e->AudioPosition));
            }
        return 0;
    }
}
