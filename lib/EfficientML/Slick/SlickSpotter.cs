using EfficientML.Audio;
using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Slick;

/// <summary>A keyword enrolled by its text: its phonemes, padded to L, and their names.</summary>
public sealed record SlickKeyword(string Text, int[] Phonemes, int[] Padded)
{
    /// <summary>The phoneme names, space-separated.</summary>
    public string PhonemeNames => string.Join(" ", Phonemes.Select(Phonemizer.Name));

    /// <inheritdoc/>
    public override string ToString() => $"\"{Text}\" /{PhonemeNames}/";
}

/// <summary>
/// One clip against one enrolled keyword: the match probability, the probability of each prefix of the keyword
/// (position k: "the first k + 1 phonemes are in the audio"), the cross-attention of each keyword phoneme over the audio
/// encodings [phonemes, T'] (one encoding every <see cref="FrameSeconds"/>), and the phonemes the CTC head hears in the
/// clip (greedy decoding: best label per step, repeats and blanks removed), and the model's decision threshold.
/// </summary>
public sealed record SlickMatch(SlickKeyword Keyword, double Score, float[] Prefixes, float[,] Attention, double FrameSeconds, int[] Heard, double Threshold = 0.5)
{
    /// <summary>Whether the score reaches the decision threshold.</summary>
    public bool Detected => Score >= Threshold;

    /// <summary>The phonemes the CTC head hears, space-separated.</summary>
    public string HeardNames => string.Join(" ", Heard.Select(Phonemizer.Name));
}

/// <summary>How <see cref="SlickSpotter.Scan"/> turns window scores into detections.</summary>
public sealed record SlickScanOptions
{
    /// <summary>Seconds between the starts of two windows.</summary>
    public double HopSeconds { get; init; } = 0.25;

    /// <summary>Score at or above which a window is a detection; null: the model's <see cref="SlickModel.DecisionThreshold"/>.</summary>
    public double? Threshold { get; init; }

    /// <summary>After a detection, the best window within this time is kept and the rest ignored.</summary>
    public double RefractorySeconds { get; init; } = 1.5;

    /// <summary>A detection (the centre of its window) hits a keyword said from this long before its start to this long after its end.</summary>
    public double ToleranceSeconds { get; init; } = 0.5;

    /// <summary>Throws one clear message for settings that cannot work.</summary>
    public SlickScanOptions Validate()
    {
        if (!(HopSeconds is >= 0.01 and <= 10)) throw new InvalidSettingsException($"The hop is 0.01 to 10 s (got {HopSeconds}).");
        if (Threshold is { } t && !(t is > 0 and < 1)) throw new InvalidSettingsException($"The threshold is a probability between 0 and 1 (got {Threshold}).");
        if (!(RefractorySeconds is >= 0 and <= 60)) throw new InvalidSettingsException($"The refractory time is 0 to 60 s (got {RefractorySeconds}).");
        if (!(ToleranceSeconds is >= 0 and <= 10)) throw new InvalidSettingsException($"The tolerance is 0 to 10 s (got {ToleranceSeconds}).");
        return this;
    }
}

/// <summary>A detection of an enrolled keyword in a long recording: the window's centre and its score.</summary>
public sealed record SlickDetection(int Keyword, string Text, double Seconds, double Score);

/// <summary>
/// A scan of a long recording: every window's score for every keyword [windows, keywords] (window w starts at
/// w × hop), the threshold used, the detections, and, when the words said are known, hits, misses and false alarms per hour.
/// </summary>
public sealed record SlickScan(IReadOnlyList<SlickKeyword> Keywords, float[,] Scores, double HopSeconds, double WindowSeconds, double Seconds,
    double Threshold, IReadOnlyList<SlickDetection> Detections, SlickScanScore? Score);

/// <summary>How a scan's detections compare with the keywords really said.</summary>
public sealed record SlickScanScore(int Said, int Hits, int FalseAlarms, double Seconds)
{
    /// <summary>Keywords said but not detected.</summary>
    public int Misses => Said - Hits;

    /// <summary>Share of the keywords said that were detected.</summary>
    public double HitRate => Said == 0 ? 0 : (double)Hits / Said;

    /// <summary>False alarms per hour of audio.</summary>
    public double FalseAlarmsPerHour => Seconds == 0 ? 0 : FalseAlarms * 3600.0 / Seconds;

    /// <summary>The scores of several recordings together.</summary>
    public static SlickScanScore Sum(IEnumerable<SlickScanScore> scores) =>
        scores.Aggregate(new SlickScanScore(0, 0, 0, 0), (a, b) => new SlickScanScore(a.Said + b.Said, a.Hits + b.Hits, a.FalseAlarms + b.FalseAlarms, a.Seconds + b.Seconds));

    /// <inheritdoc/>
    public override string ToString() => $"{Hits}/{Said} hits, {FalseAlarms} false alarms ({FalseAlarmsPerHour:0.#}/h)";
}

/// <summary>
/// A trained SLiCK model in use: enrol keywords by their text (encoded once), match clips against them (the audio encoded
/// once for all keywords) and scan long recordings with a sliding window of the training clips' length. Disposing it
/// frees the keyword encodings it keeps (and its log-mel front end when it made one), not the model.
/// </summary>
public sealed class SlickSpotter : IDisposable
{
    readonly Dictionary<string, Tensor> _encodings = new(StringComparer.Ordinal);
    readonly LogMel? _ownLogMel;

    /// <summary>A spotter over <paramref name="model"/> (put in eval mode) for windows of <paramref name="clipSeconds"/> at 16 kHz.</summary>
    public SlickSpotter(SlickModel model, double clipSeconds = 2.5, Phonemizer? phonemizer = null, LogMel? logMel = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        if (!(clipSeconds is >= 0.5 and <= 10)) throw new InvalidSettingsException($"A window lasts 0.5 to 10 seconds (got {clipSeconds}).");
        ClipSeconds = clipSeconds;
        Phonemizer = phonemizer ?? Phonemizer.Shared;
        _ownLogMel = logMel is null ? new LogMel() : null;
        LogMel = logMel ?? _ownLogMel!;
        model.eval();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var encoding in _encodings.Values) encoding.Dispose();
        _encodings.Clear();
        _ownLogMel?.Dispose();
    }

    /// <summary>The model.</summary>
    public SlickModel Model { get; }

    /// <summary>Length of a window, seconds (the training clips' length).</summary>
    public double ClipSeconds { get; }

    /// <summary>The phonemizer keywords are enrolled with.</summary>
    public Phonemizer Phonemizer { get; }

    /// <summary>The features the model reads.</summary>
    public LogMel LogMel { get; }

    /// <summary>Seconds between two audio encodings.</summary>
    public double FrameSeconds => Model.Config.AudioStride * LogMel.Options.HopMs / 1000.0;

    /// <summary>
    /// Enrols <paramref name="text"/>: its phonemes (one clear message for an empty keyword, characters that cannot be
    /// read, or more phonemes than L) and its text encoding, computed now and kept.
    /// </summary>
    public SlickKeyword Enrol(string text)
    {
        var padded = Phonemizer.Keyword(text, Model.Config.MaxKeywordLength);
        var keyword = new SlickKeyword(Phonemizer.Normalise(text), padded.TakeWhile(id => id != Phonemizer.Padding).ToArray(), padded);
        Encoding(keyword);
        return keyword;
    }

    Tensor Encoding(SlickKeyword keyword)
    {
        if (_encodings.TryGetValue(keyword.Text, out var known)) return known;
        using var noGrad = no_grad();
        using var ids = tensor(keyword.Padded.Select(i => (long)i).ToArray(), [1, keyword.Padded.Length]);
        var encoding = Model.EncodeText(ids).DetachFromDisposeScope();
        _encodings[keyword.Text] = encoding;
        return encoding;
    }

    /// <summary><paramref name="samples"/> (16 kHz) centred in a window of <see cref="ClipSeconds"/> (padded with silence, or cut at both ends).</summary>
    public float[] Window(float[] samples) => AudioMixing.Centre(samples, (int)Math.Round(ClipSeconds * LogMel.Options.SampleRate));

    /// <summary>The clip (16 kHz, centred in a window) against every keyword; the audio is encoded once.</summary>
    public IReadOnlyList<SlickMatch> Match(float[] samples, IReadOnlyList<SlickKeyword> keywords)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (keywords.Count == 0) throw new InvalidSettingsException("Enrol at least one keyword to match against.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var window = Window(samples);
        using var audio = tensor(window, [1, (long)window.Length]);
        var (encoding, ctc) = Model.EncodeAudio(KeywordFeatures.Normalise(LogMel.Compute(audio)));
        var heard = Greedy(ctc[0]);
        var (utterance, subsequence, attention) = Model.MatchKeys(Model.AudioKeys(encoding), Texts(keywords), Masks(keywords));
        var scores = utterance.sigmoid().data<float>().ToArray();
        var matches = new List<SlickMatch>();
        for (int k = 0; k < keywords.Count; k++)
        {
            int n = keywords[k].Phonemes.Length;
            var weights = attention[k].narrow(0, 0, n).contiguous();
            var array = new float[n, weights.shape[1]];
            var flat = weights.data<float>().ToArray();
            Buffer.BlockCopy(flat, 0, array, 0, flat.Length * sizeof(float));
            matches.Add(new SlickMatch(keywords[k], scores[k], subsequence[k].narrow(0, 0, n).sigmoid().data<float>().ToArray(), array, FrameSeconds, heard,
                Model.DecisionThreshold));
        }
        return matches;
    }

    Tensor Texts(IReadOnlyList<SlickKeyword> keywords) => cat(keywords.Select(Encoding).ToArray(), 0);

    static Tensor Masks(IReadOnlyList<SlickKeyword> keywords) =>
        tensor(keywords.SelectMany(k => k.Padded.Select(id => id != Phonemizer.Padding)).ToArray(), [keywords.Count, keywords[0].Padded.Length]);

    static int[] Greedy(Tensor logProbs)
    {
        var best = logProbs.argmax(-1).data<long>().ToArray();
        var heard = new List<int>();
        long previous = -1;
        foreach (var b in best)
        {
            if (b != previous && b != Phonemizer.Padding) heard.Add((int)b);
            previous = b;
        }
        return heard.ToArray();
    }

    /// <summary>
    /// Scores every window of <paramref name="samples"/> (16 kHz) against every keyword — each window's audio encoded once,
    /// in batches — and picks detections: a window at or above the threshold, the best one within the refractory time.
    /// With <paramref name="said"/> (the words of a <see cref="KeywordStream"/>), detections are scored against them: a
    /// keyword is said when an event's word is the keyword's text.
    /// </summary>
    public SlickScan Scan(float[] samples, IReadOnlyList<SlickKeyword> keywords, SlickScanOptions? options = null,
        IReadOnlyList<KeywordEvent>? said = null, int batch = 32, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        options = (options ?? new SlickScanOptions()).Validate();
        if (keywords.Count == 0) throw new InvalidSettingsException("Enrol at least one keyword to scan for.");
        int rate = LogMel.Options.SampleRate, window = (int)Math.Round(ClipSeconds * rate), hop = (int)Math.Round(options.HopSeconds * rate);
        if (samples.Length < window) samples = Window(samples);
        int windows = 1 + (samples.Length - window) / hop;
        var scores = new float[windows, keywords.Count];
        using var noGrad = no_grad();
        using var texts = Texts(keywords);                                             // once per scan, for every window
        using var masks = Masks(keywords);
        for (int start = 0; start < windows; start += batch)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int n = Math.Min(batch, windows - start);
            var flat = new float[n * window];
            for (int w = 0; w < n; w++) Array.Copy(samples, (start + w) * hop, flat, w * window, window);
            var (encoding, _) = Model.EncodeAudio(KeywordFeatures.Normalise(LogMel.Compute(tensor(flat, [n, window]))));
            var kv = Model.AudioKeys(encoding);                                         // once per window, for every keyword
            for (int k = 0; k < keywords.Count; k++)
            {
                var probabilities = Model.MatchKeys(kv, texts[k].expand(n, -1, -1), masks[k].expand(n, -1)).Utterance.sigmoid().data<float>().ToArray();
                for (int w = 0; w < n; w++) scores[start + w, k] = probabilities[w];
            }
        }
        double threshold = options.Threshold ?? Model.DecisionThreshold;
        var detections = Detect(scores, keywords, options with { Threshold = threshold }, ClipSeconds);
        var score = said is null ? null : ScoreAgainst(detections, keywords, said, options, (double)samples.Length / rate);
        return new SlickScan(keywords, scores, options.HopSeconds, ClipSeconds, (double)samples.Length / rate, threshold, detections, score);
    }

    internal static List<SlickDetection> Detect(float[,] scores, IReadOnlyList<SlickKeyword> keywords, SlickScanOptions options, double windowSeconds)
    {
        var detections = new List<SlickDetection>();
        int windows = scores.GetLength(0), refractory = (int)Math.Round(options.RefractorySeconds / options.HopSeconds);
        for (int k = 0; k < keywords.Count; k++)
            for (int w = 0; w < windows; w++)
            {
                if (scores[w, k] < options.Threshold!.Value) continue;
                int best = w;
                for (int v = w + 1; v < Math.Min(windows, w + refractory + 1); v++)
                    if (scores[v, k] > scores[best, k]) best = v;
                detections.Add(new SlickDetection(k, keywords[k].Text, best * options.HopSeconds + windowSeconds / 2, scores[best, k]));
                w = best + refractory;
            }
        return detections.OrderBy(d => d.Seconds).ToList();
    }

    internal static SlickScanScore ScoreAgainst(IReadOnlyList<SlickDetection> detections, IReadOnlyList<SlickKeyword> keywords,
        IReadOnlyList<KeywordEvent> said, SlickScanOptions options, double seconds)
    {
        var keywordOf = said.Select(e => keywords.ToList().FindIndex(k => k.Text == Phonemizer.Normalise(e.Word))).ToArray();
        var hit = new bool[said.Count];
        int hits = 0;
        foreach (var d in detections)
            for (int i = 0; i < said.Count; i++)
                if (!hit[i] && keywordOf[i] == d.Keyword && d.Seconds >= said[i].Start - options.ToleranceSeconds && d.Seconds <= said[i].End + options.ToleranceSeconds)
                {
                    (hit[i], hits) = (true, hits + 1);
                    break;
                }
        return new SlickScanScore(keywordOf.Count(k => k >= 0), hits, detections.Count - hits, seconds);
    }
}
