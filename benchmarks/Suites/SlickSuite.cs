using EfficientML.Audio;
using EfficientML.Slick;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// SLiCK (<see cref="SlickExperiment"/>): the ablation of its losses on identical data, seed and budget — without the
/// subsequence-level loss (the baseline), with it, and with it but without CTC — each trained once per seed and scored
/// as AUC and EER on new keywords said by new voices (positives against easy, and against hard negatives) and on the real
/// voice; then a long recording scanned for enrolled keywords with a sliding window (hits and false alarms per hour, at
/// the threshold where validation's false-accept and false-reject rates are equal), and the cost of each side: parameters,
/// MACs and measured latency of the audio side per one-second window against the matcher per keyword.
/// </summary>
public sealed class SlickSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "slick";

    /// <inheritdoc />
    public string Description => "SLiCK with and without the subsequence loss (and without CTC): AUC/EER easy, hard, real voice over seeds; stream scan; cost per window and per keyword";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        var options = quick ? SlickExperimentOptions.Quick : new SlickExperimentOptions();
        var scans = new List<(string Variant, SlickScanScore Score, double Threshold)>();
        KeywordStream[]? streams = null;
        string[] keywords = [];
        var ablation = SlickExperiment.Run(options, (trial, model, data) =>
        {
            log.WriteLine($"{trial.Run.Name}: easy {trial.Test.Easy}; hard {trial.Test.Hard}" + (trial.Real is null ? "" : $"; real hard {trial.Real.Hard}"));
            if (trial.Seed != options.Seeds[0]) return;
            if (streams is null)
            {
                keywords = ScanKeywords(data.Dataset.Phrases.Test, quick ? 1 : 3);
                streams = keywords.Select((k, i) => SlickStream.Build(options.Dataset, data.Dataset.Phrases, k, seconds: quick ? 40 : 240, seed: 11 + i)).ToArray();
            }
            double threshold = trial.Threshold;
            using var spotter = new SlickSpotter(model, options.Dataset.ClipSeconds);
            var total = SlickScanScore.Sum(keywords.Select((k, i) => spotter.Scan(streams[i].Samples, [spotter.Enrol(k)], new SlickScanOptions(), streams[i].Events).Score!));
            scans.Add((trial.Variant.Name, total, threshold));
        }, run =>
        {
            var last = run.Steps.Count > 0 ? run.Steps[^1] : null;
            if (last != null && (last.Step + 1) % 250 == 0) log.WriteLine($"{run.Name}: step {last.Step + 1}, loss {last.Loss:0.000}");
        });

        var rows = new List<Measurement>();
        var summary = ablation.Summary();
        string baseline = options.Variants[0].Name;
        string setting = $"{ablation.TrainClips} training clips paired afresh each step, {ablation.TestPairs} test pairs (new words, new voices), " +
            $"{ablation.RealPairs} real-voice pairs; L = {ablation.MaxKeywordLength}; {options.Training.Steps} steps × {options.Training.BatchSize} pairs; seeds {string.Join(", ", options.Seeds)}";
        foreach (var row in summary)
        {
            var reference = summary.First(r => r.Variant == baseline && r.Set == row.Set);
            bool isBaseline = row.Variant == baseline;
            rows.Add(new($"{row.Variant}: AUC, {row.Set}", row.Auc * 100, "%", isBaseline ? null : $"{baseline}: AUC, {row.Set}",
                isBaseline ? null : row.Auc / reference.Auc, $"± {row.AucSpread * 100:0.0} (sd over {row.Seeds} seeds)" + (rows.Count == 0 ? "; " + setting : "")));
            rows.Add(new($"{row.Variant}: EER, {row.Set}", row.Eer * 100, "%", isBaseline ? null : $"{baseline}: EER, {row.Set}",
                isBaseline ? null : row.Eer / reference.Eer, $"± {row.EerSpread * 100:0.0} (sd over {row.Seeds} seeds)"));
        }
        foreach (var (variant, score, threshold) in scans)
        {
            rows.Add(new($"{variant}: stream scan, keywords found", score.HitRate * 100, "%", Note:
                $"{score.Hits}/{score.Said} said in {score.Seconds / 60:0.#} min of test voices over noise (keywords: {string.Join(", ", keywords.Select(k => $"\"{k}\""))}); " +
                $"2.5 s window every 0.25 s; threshold {threshold:0.###} (validation EER); seed {options.Seeds[0]}"));
            rows.Add(new($"{variant}: stream scan, false alarms", score.FalseAlarmsPerHour, "per hour", Note: $"{score.FalseAlarms} in {score.Seconds / 60:0.#} min"));
        }
        rows.AddRange(Cost(options, quick));
        return rows;
    }

    /// <summary>Test phrases of two or three words with 8–14 phonemes, first in the list, as the keywords a user enrols.</summary>
    static string[] ScanKeywords(IReadOnlyList<SlickPhrase> phrases, int count) =>
        phrases.Where(p => p.Words.Length is 2 or 3 && p.Phonemes.Length is >= 8 and <= 14).Take(count).Select(p => p.Text).ToArray();

    static IEnumerable<Measurement> Cost(SlickExperimentOptions options, bool quick)
    {
        using var model = new SlickModel(options.Model);
        var cost = SlickCost.Measure(model, windowSeconds: 1.0, repeats: quick ? 10 : 50);
        string macs(long m) => $"{m / 1e6:0.00} M MACs";
        yield return new("cost: parameters (audio side / text side / matcher)", cost.Parameters, "", Note:
            $"{cost.AudioParameters:N0} / {cost.TextParameters:N0} / {cost.MatcherParameters:N0}; width {options.Model.Width}, L {options.Model.MaxKeywordLength}");
        yield return new("cost: audio side per 1-s window", cost.AudioMs!.Value, "ms", Note: $"{macs(cost.AudioMacs)}; encoder, CTC head, matcher keys; batch 1, median");
        yield return new("cost: matcher per keyword per window", cost.MatcherMs!.Value, "ms", "cost: audio side per 1-s window", cost.MatcherMs / cost.AudioMs,
            $"{macs(cost.MatcherMacs)}; ten keywords add {10 * cost.MatcherMacs / (double)cost.AudioMacs:0.0}× the audio side's MACs");
        yield return new("cost: enrolling a keyword (text side, once)", cost.TextMs!.Value, "ms", Note: macs(cost.TextMacs));
    }
}
