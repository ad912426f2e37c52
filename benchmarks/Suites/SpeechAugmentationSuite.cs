using System.Diagnostics;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// The voice ablation (<see cref="VoiceRecipes.Ablation"/>): the multi-branch RepCNN trained on each training-data recipe
/// (the espeak-ng-only one, the full one, and the full one without each part), same budget and three seeds, scored on the
/// real voice as recorded: balanced accuracy, keyword recall and unknown rejection, as it decides and with the unknown
/// threshold fitted on synthetic validation data; then per-class recall on the real voice for the full recipe.
/// </summary>
public sealed class SpeechAugmentationSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "speech-augment";

    /// <inheritdoc />
    public string Description => "voice ablation: multi-branch RepCNN on each training recipe (espeak-ng only, full, full minus each part), real-voice balanced accuracy, keyword recall, unknown rejection, calibrated; per-class recall";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        var rows = new List<Measurement>();
        var seeds = quick ? new long[] { 1 } : [1, 2, 3];
        var results = new List<(VoiceRecipe Recipe, List<KeywordSpotterResult> Runs)>();
        foreach (var recipe in VoiceRecipes.Ablation(KeywordSpottingExperiments.Dataset(quick), quick))
        {
            var clock = Stopwatch.StartNew();
            var dataset = KeywordDatasetBuilder.Build(recipe.Options);
            log.WriteLine($"{recipe.Name}: {dataset} ({(dataset.FromCache ? "from the cache" : $"built in {clock.Elapsed.TotalSeconds:0} s")})");
            using var data = KeywordSpottingData.Prepare(dataset, KeywordSpottingExperiments.RealVoiceVariations(quick));
            var runs = new List<KeywordSpotterResult>();
            foreach (var seed in seeds)
            {
                var (model, cost, training) = KeywordSpottingExperiments.Create(KeywordSpottingExperiments.MultiBranch, data.Labels.Count, quick, seed);
                var result = KeywordSpottingExperiments.TrainAndEvaluate($"{recipe.Name}, seed {seed}", model, cost, training, data);
                log.WriteLine($"  {result}");
                runs.Add(result);
                model.Dispose();
            }
            results.Add((recipe, runs));
        }

        var reference = results.First(r => r.Recipe.Name == VoiceRecipes.Full).Runs;
        var lazy = reference[0].RealOriginal;
        int keywords = lazy.Truth.Count(lazy.IsKeyword);
        rows.Add(SpeechSuite.AlwaysUnknown(lazy));
        foreach (var (recipe, runs) in results)
        {
            bool full = recipe.Name == VoiceRecipes.Full;
            void Row(string what, Func<KeywordSpotterResult, double> pick, string note)
            {
                var spread = SeedSpread.Of(runs, pick);
                double mean = spread.Mean, fullMean = reference.Average(pick);
                rows.Add(new($"{recipe.Name}: {what}", mean * 100, "%", full ? null : $"{VoiceRecipes.Full}: {what}", full || fullMean == 0 ? null : mean / fullMean,
                    $"{spread.PercentNote}; {(full ? "" : $"{(mean - fullMean) * 100:+0.0;-0.0} points against the full recipe; ")}{recipe.Change}{(note.Length > 0 ? "; " + note : "")}"));
            }
            Row("real voice, balanced accuracy", r => r.RealOriginal.BalancedAccuracy, $"accuracy {runs.Average(r => r.RealOriginalAccuracy):P1}");
            Row("real voice, keyword recall", r => r.RealOriginal.KeywordRecall, $"{keywords} keyword recordings");
            Row("real voice, unknown rejection", r => r.RealOriginal.UnknownRejection,
                $"of words the training's unknown vocabulary has {SpeechSuite.VocabularyRejection(runs, r => r.RealUnknownTrainedWords)}, " +
                $"of words it never had {SpeechSuite.VocabularyRejection(runs, r => r.RealUnknownNewWords)}");
            Row("real voice, calibrated balanced accuracy", r => r.RealOriginalCalibrated!.BalancedAccuracy,
                $"threshold fitted on synthetic validation (unknown bias {runs.Average(r => r.Calibration!.Bias):+0.00;-0.00}): keyword recall " +
                $"{runs.Average(r => r.RealOriginalCalibrated!.KeywordRecall):P1}, unknown rejection {runs.Average(r => r.RealOriginalCalibrated!.UnknownRejection):P1}, " +
                $"accuracy {runs.Average(r => r.RealOriginalCalibrated!.Accuracy):P1}");
            Row("synthetic test, balanced accuracy", r => r.Test.BalancedAccuracy, $"{runs[0].Test.Truth.Length} clips of unseen espeak-ng voices");
        }
        // Per-class recall on the real voice for the full recipe, averaged over seeds: which words it hears.
        for (int label = 0; label < lazy.Labels.Count; label++)
        {
            int count = lazy.Truth.Count(t => t == label);
            if (count == 0) continue;
            int l = label;
            var recall = SeedSpread.Of(reference, r => r.RealOriginal.Recall(l));
            rows.Add(new($"{VoiceRecipes.Full}: real voice recall of '{lazy.Labels[label]}'", recall.Mean * 100, "%", Note:
                $"{recall.PercentNote}; {count} recording{(count == 1 ? "" : "s")}; most often mistaken for: " +
                MostConfused(reference, label)));
        }
        return rows;
    }

    static string MostConfused(IReadOnlyList<KeywordSpotterResult> runs, int label)
    {
        var wrong = runs.SelectMany(r => r.RealOriginal.Truth.Zip(r.RealOriginal.Predictions).Where(p => p.First == label && p.Second != label).Select(p => p.Second))
            .GroupBy(p => p).OrderByDescending(g => g.Count()).FirstOrDefault();
        return wrong is null ? "nothing" : $"'{runs[0].RealOriginal.Labels[wrong.Key]}' ({wrong.Count()} of {runs.Count * runs[0].RealOriginal.Truth.Count(t => t == label)})";
    }
}
