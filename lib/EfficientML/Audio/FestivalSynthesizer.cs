using System.Diagnostics;
using System.Globalization;
using EfficientML.Core;

namespace EfficientML.Audio;

/// <summary>Festival is missing or unusable; the message names the Debian packages to install.</summary>
public sealed class FestivalNotFoundException : EfficientMLException
{
    /// <summary>Creates the exception with its message.</summary>
    public FestivalNotFoundException(string message) : base(message) { }
}

/// <summary>
/// The Festival speech synthesizer (Debian's <c>festival</c> with its English voices), a second engine beside espeak-ng
/// whose voices are made another way (diphone concatenation and HTS statistical synthesis, not formant synthesis). Festival
/// has no library API that .NET can call, so one <c>festival --pipe</c> process is kept open and given one Scheme command per
/// utterance, which writes a WAV file and then an empty marker file (Festival buffers its standard output, so the marker is
/// how a command is known to be done); start-up is paid once, not per word. Festival is deterministic: the same text and
/// voice give the same samples.
/// </summary>
public sealed class FestivalSynthesizer : IDisposable
{
    /// <summary>The English voices this project uses, by Festival voice name, and the Debian package of each.</summary>
    public static readonly IReadOnlyList<(string Voice, string Package)> KnownVoices =
    [
        ("kal_diphone", "festvox-kallpc16k"),
        ("ked_diphone", "festvox-kdlpc16k"),
        ("cmu_us_slt_arctic_hts", "festvox-us-slt-hts"),
    ];

    /// <summary>What to install for Festival and its voices.</summary>
    public static string InstallHint => "apt-get install festival " + string.Join(' ', KnownVoices.Select(v => v.Package));

    readonly Process _process;
    readonly string _folder;
    readonly object _gate = new();
    int _count;

    FestivalSynthesizer(Process process, string folder, IReadOnlyList<string> voices)
    {
        (_process, _folder, Voices) = (process, folder, voices);
    }

    /// <summary>The known voices installed here.</summary>
    public IReadOnlyList<string> Voices { get; }

    /// <summary>The sample rate of every utterance returned (Festival's voices run at 16 or 32 kHz; they are resampled).</summary>
    public const int SampleRate = SpeechSynthesizer.SampleRate;

    /// <summary>
    /// Starts Festival (<paramref name="festival"/>: the program, default <c>festival</c> on the PATH) and checks that every voice in
    /// <see cref="KnownVoices"/> is installed. Throws <see cref="FestivalNotFoundException"/>, naming the packages, when not.
    /// </summary>
    public static FestivalSynthesizer Open(string? festival = null)
    {
        var program = festival ?? "festival";
        var missing = KnownVoices.Where(v => !VoiceInstalled(v.Voice)).ToList();
        Process process;
        try
        {
            process = Process.Start(new ProcessStartInfo(program, "--pipe")
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            }) ?? throw new FestivalNotFoundException($"Festival ('{program}') did not start. Install it: {InstallHint}.");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new FestivalNotFoundException($"Festival is not installed ('{program}' was not found). Install it and its voices: {InstallHint}.");
        }
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (missing.Count > 0)
        {
            process.Kill();
            process.Dispose();
            throw new FestivalNotFoundException($"Festival's voice{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing.Select(v => v.Voice))} " +
                $"{(missing.Count == 1 ? "is" : "are")} not installed. Install: apt-get install {string.Join(' ', missing.Select(v => v.Package))}.");
        }
        var folder = Path.Combine(Path.GetTempPath(), $"efficientml-festival-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var synthesizer = new FestivalSynthesizer(process, folder, KnownVoices.Select(v => v.Voice).ToList());
        try
        {
            synthesizer.Run("(voice_kal_diphone)");       // Festival answers: it runs
        }
        catch
        {
            synthesizer.Dispose();
            throw;
        }
        return synthesizer;
    }

    /// <summary>Whether Festival's voice <paramref name="voice"/> is installed in Debian's voice folders.</summary>
    public static bool VoiceInstalled(string voice) =>
        Directory.Exists("/usr/share/festival/voices") &&
        Directory.EnumerateDirectories("/usr/share/festival/voices").Any(language => Directory.Exists(Path.Combine(language, voice)));

    /// <summary>
    /// Says <paramref name="text"/> with Festival's <paramref name="voice"/>, <paramref name="stretch"/> times slower than its
    /// default (1 = normal; 0.8 faster), and for the diphone voices with a mean pitch of <paramref name="pitchHz"/> (null: the
    /// voice's own; the HTS voice keeps its own pitch). Mono samples in −1 … 1 at <see cref="SampleRate"/>.
    /// </summary>
    public float[] Synthesize(string text, string voice, double stretch = 1, double? pitchHz = null)
    {
        if (!Voices.Contains(voice)) throw new InvalidSettingsException($"Festival has no voice '{voice}' here: use one of {string.Join(", ", Voices)}.");
        if (!(stretch >= 0.3 && stretch <= 3)) throw new InvalidSettingsException($"A duration stretch lies in 0.3 … 3 (got {stretch}).");
        if (pitchHz is { } p && !(p >= 50 && p <= 400)) throw new InvalidSettingsException($"A mean pitch lies in 50 … 400 Hz (got {p}).");
        var clean = new string(text.Where(c => char.IsLetterOrDigit(c) || c is ' ' or '\'' or '-').ToArray()).Trim();
        if (clean.Length == 0) throw new InvalidSettingsException($"Festival needs words to say (got '{text}').");
        lock (_gate)
        {
            var file = Path.Combine(_folder, $"u{_count++}.wav");
            string Number(double x) => x.ToString("0.###", CultureInfo.InvariantCulture);
            var pitch = pitchHz is { } hz && voice.EndsWith("_diphone", StringComparison.Ordinal)
                ? $"(set! int_lr_params '((target_f0_mean {Number(hz)}) (target_f0_std {Number(hz * 0.15)}) (model_f0_mean 170) (model_f0_std 34)))"
                : "";
            Run($"(voice_{voice}) (Parameter.set 'Duration_Stretch {Number(stretch)}) {pitch} " +
                $"(utt.save.wave (utt.synth (Utterance Text \"{clean}\")) \"{file}\" 'riff)");
            var clip = WaveFile.Read(file);
            File.Delete(file);
            return clip.SampleRate == SampleRate ? clip.Samples : Resampler.Resample(clip.Samples, clip.SampleRate, SampleRate);
        }
    }

    /// <summary>Sends one line of Scheme followed by the writing of a marker file, and waits (at most a minute) for the marker.</summary>
    void Run(string scheme)
    {
        var marker = Path.Combine(_folder, $"done{_count++}");
        if (_process.HasExited) throw new FestivalNotFoundException($"Festival stopped (exit code {_process.ExitCode}). Check the install: {InstallHint}.");
        _process.StandardInput.WriteLine($"{scheme} (fclose (fopen \"{marker}\" \"w\"))");
        _process.StandardInput.Flush();
        var clock = Stopwatch.StartNew();
        while (!File.Exists(marker))
        {
            if (_process.HasExited) throw new FestivalNotFoundException($"Festival stopped while synthesizing (exit code {_process.ExitCode}). Check the install: {InstallHint}.");
            if (clock.Elapsed > TimeSpan.FromMinutes(1)) throw new FestivalNotFoundException($"Festival did not answer within a minute. Check the install: {InstallHint}.");
            Thread.Sleep(1);
        }
        File.Delete(marker);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(2000)) _process.Kill();
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
