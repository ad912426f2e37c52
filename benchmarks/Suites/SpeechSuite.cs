using System.Diagnostics;
using EfficientML.Core;
using EfficientML.Export;
using EfficientML.Reparam;
using EfficientML.Audio;
using EfficientML.KeywordSpotting;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Benchmarks.Suites;

/// <summary>
/// The speech stack and RepCNN in one run: espeak-ng synthesis speed; a keyword dataset built from scratch; RepCNN
/// trained multi-branch and folded, the same deploy network trained single-branch, and BC-ResNet-1, all on the same data
/// and budget (<see cref="KeywordSpottingExperiments"/>), three seeds each, with balanced accuracy, keyword recall and unknown
/// rejection on the synthetic test (unseen voices) and on the real voice beside what always answering "unknown" scores; the
/// multi-branch RepCNN again with half its training speakers made by Festival; the fold and ONNX Runtime checked against
/// TorchSharp; and latency per one-second window.
/// </summary>
public sealed class SpeechSuite : IBenchmarkSuite
{
    /// <summary>Share of the training speakers made with Festival for the mixed-engine row.</summary>
    const double FestivalShare = 0.5;

    /// <inheritdoc />
    public string Name => "speech";

    /// <inheritdoc />
    public string Description => "espeak-ng synthesis speed; RepCNN multi-branch→folded vs single-branch vs BC-ResNet-1 (and multi-branch with Festival voices): balanced accuracy, keyword recall, unknown rejection (synthetic, real voice) and latency";

    /// <inheritdoc />
    public IReadOnlyList<Measurement> Run(bool quick, TextWriter log)
    {
        var rows = new List<Measurement>();
        rows.Add(Synthesis(quick ? 50 : 400));

        var options = KeywordSpottingExperiments.Dataset(quick);
        var clock = Stopwatch.StartNew();
        var fresh = KeywordDatasetBuilder.Build(options, useCache: false);
        double buildSeconds = clock.Elapsed.TotalSeconds;
        int clips = fresh.Splits.Sum(s => s.Count);
        rows.Add(new("keyword dataset built from scratch", clips / buildSeconds, "clips/s", Note:
            $"{fresh}; {buildSeconds:0.0} s: synthesis, speed change, noise, band limit"));

        using var data = KeywordSpottingData.Prepare(fresh, KeywordSpottingExperiments.RealVoiceVariations(quick));
        int originals = data.RealItems.Count(i => i.Original);
        log.WriteLine($"{data.Dataset}; real voice: {originals} recordings + {data.RealItems.Count - originals} variations");

        var seeds = quick ? new long[] { 1 } : [1, 2, 3];
        var results = new Dictionary<string, List<KeywordSpotterResult>>();
        RepCnn? trainedMulti = null;
        nn.Module<Tensor, Tensor>? bc = null;
        foreach (var name in new[] { KeywordSpottingExperiments.MultiBranch, KeywordSpottingExperiments.SingleBranch, KeywordSpottingExperiments.BcResNetName })
        {
            foreach (var seed in seeds)
            {
                var (model, cost, training) = KeywordSpottingExperiments.Create(name, data.Labels.Count, quick, seed);
                var result = KeywordSpottingExperiments.TrainAndEvaluate(name, model, cost, training, data);
                log.WriteLine($"seed {seed}: {result}");
                (results.TryGetValue(name, out var list) ? list : results[name] = []).Add(result);
                if (name == KeywordSpottingExperiments.MultiBranch && trainedMulti is null) trainedMulti = (RepCnn)model;
                else if (name == KeywordSpottingExperiments.BcResNetName && bc is null) bc = model;
                else model.Dispose();
            }
        }
        double Mean(string name, Func<KeywordSpotterResult, double> pick) => results[name].Average(pick);
        string Spread(string name, Func<KeywordSpotterResult, double> pick)
        {
            var values = results[name].Select(pick).ToList();
            if (values.Count == 1) return "1 run";
            double mean = values.Average(), sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
            return $"± {sd * 100:0.0} (sd over {values.Count} seeds: {string.Join(" / ", values.Select(v => $"{v * 100:0.0}"))})";
        }
        // The same multi-branch RepCNN trained where half the training speakers are Festival voices (the rest espeak-ng; the
        // validation and test voices are the same espeak-ng ones), same seeds and budget: what a second engine does for the real voice.
        var festivalName = $"{KeywordSpottingExperiments.MultiBranch}, Festival {FestivalShare:P0}";
        using (var mixed = KeywordSpottingData.Prepare(KeywordDatasetBuilder.Build(options with { FestivalShare = FestivalShare }), KeywordSpottingExperiments.RealVoiceVariations(quick)))
            foreach (var seed in seeds)
            {
                var (model, cost, training) = KeywordSpottingExperiments.Create(KeywordSpottingExperiments.MultiBranch, mixed.Labels.Count, quick, seed);
                var result = KeywordSpottingExperiments.TrainAndEvaluate(festivalName, model, cost, training, mixed);
                log.WriteLine($"seed {seed}: {result}");
                (results.TryGetValue(festivalName, out var list) ? list : results[festivalName] = []).Add(result);
                model.Dispose();
            }
        var single = KeywordSpottingExperiments.SingleBranch;
        var lazy = results[single][0].RealOriginal;
        rows.Add(new("real voice as recorded: always answering \"unknown\", accuracy", lazy.AlwaysUnknownAccuracy * 100, "%", Note:
            $"{lazy.Truth.Count(t => t == lazy.UnknownClass)} of the {lazy.Truth.Length} recordings are not keywords; its balanced accuracy is " +
            $"{100.0 / lazy.Truth.Distinct().Count():0.0} % (1 of {lazy.Truth.Distinct().Count()} classes present) and its keyword recall 0 %"));
        foreach (var name in results.Keys)
        {
            var first = results[name][0];
            bool baseline = name == single;
            // The Festival-mixed model is compared with the same model on espeak-ng voices only; the others with single-branch.
            var against = name == festivalName ? KeywordSpottingExperiments.MultiBranch : single;
            void Row(string what, Func<KeywordSpotterResult, double> pick, string note) =>
                rows.Add(new($"{name}: {what}", Mean(name, pick) * 100, "%", baseline ? null : $"{against}: {what}",
                    baseline ? null : Mean(name, pick) / Mean(against, pick), $"{Spread(name, pick)}" + (note.Length > 0 ? "; " + note : "")));
            Row("real voice as recorded, balanced accuracy (headline)", r => r.RealOriginal.BalancedAccuracy,
                $"mean recall over the classes present; {originals} recordings of one real speaker (8 kHz telephone audio)");
            Row("real voice as recorded, accuracy", r => r.RealOriginalAccuracy, $"always-unknown scores {lazy.AlwaysUnknownAccuracy:P1}");
            Row("real voice as recorded, keyword recall", r => r.RealOriginal.KeywordRecall, $"{lazy.Truth.Count(lazy.IsKeyword)} keyword recordings");
            Row("real voice as recorded, unknown rejection", r => r.RealOriginal.UnknownRejection, "share of non-keyword recordings answered unknown");
            Row("real voice, seeded variations, balanced accuracy", r => r.RealVariations.BalancedAccuracy,
                $"{data.RealItems.Count - originals} clips: speed 0.9–1.1×, shift ±0.1 s, noise 10–30 dB; accuracy {Mean(name, r => r.RealVariationAccuracy):P1}");
            Row("synthetic test, balanced accuracy (unseen voices)", r => r.Test.BalancedAccuracy,
                $"accuracy {Mean(name, r => r.Test.Accuracy):P1}; {data.Test.Count} clips, {data.Labels.Count} classes; {first.Cost.Parameters:N0} deployed parameters, " +
                $"{first.Run.Options.Steps} steps × {first.Run.Options.BatchSize}, lr {first.Run.Options.LearningRate:G2}, {first.Run.Elapsed.TotalSeconds:0} s");
        }

        var multi = trainedMulti!;
        var (folded, fold) = Reparameterization.FoldCopy(multi, data.Test.Features, repeats: quick ? 20 : 200);
        rows.Add(new("fold: max |Δ logits| multi-branch vs folded, whole synthetic test", fold.MaxAbsDifference, "", Note:
            $"tolerance {ReparameterizationReport.Tolerance:0e0}; parameters {fold.ParametersBefore:N0} → {fold.ParametersAfter:N0}"));
        var onnxPath = Path.Combine(Path.GetTempPath(), $"efficientml-repcnn-{Environment.ProcessId}.onnx");
        long onnxBytes = RepCnnOnnx.Export(folded, onnxPath);
        using (var onnx = new OnnxKeywordSpotter(onnxPath))
        using (no_grad())
        using (var torchLogits = folded.call(data.Test.Features))
        using (var onnxLogits = onnx.Run(data.Test.Features))
        using (var delta = (torchLogits - onnxLogits).abs().max())
            rows.Add(new("ONNX Runtime vs TorchSharp (folded): max |Δ logits|, whole synthetic test", delta.item<float>(), "", Note:
                $"tolerance 1e-4; ONNX file {onnxBytes / 1024.0:0.0} KiB"));
        var bcCost = results[KeywordSpottingExperiments.BcResNetName][0].Cost;
        var latencies = KeywordSpottingExperiments.DeployLatencies(multi, folded, onnxPath, ("BC-ResNet-1", bc!, bcCost), data, quick ? 30 : 500);
        var foldedMs = latencies.First(l => l.Name.StartsWith("RepCNN folded (TorchSharp)", StringComparison.Ordinal)).Milliseconds;
        foreach (var l in latencies)
            rows.Add(new($"latency per 1 s window: {l.Name}", l.Milliseconds, "ms", "RepCNN folded (TorchSharp)", l.Milliseconds / foldedMs,
                l.Cost.Macs > 0 ? $"{l.Cost.Parameters:N0} parameters, {l.Cost.Macs / 1e6:0.00} M MACs, peak activations {l.Cost.PeakActivationBytes / 1024.0:0.0} KiB (analytic)" : "batch 1, median of alternating calls"));
        File.Delete(onnxPath);
        folded.Dispose();
        multi.Dispose();
        bc!.Dispose();
        return rows;
    }

    /// <summary>One-word clips with varied voices, rates and pitches from a fresh espeak-ng, timed against the audio's length.</summary>
    static Measurement Synthesis(int clips)
    {
        var words = KeywordDatasetOptions.DefaultKeywords.Concat(KeywordDatasetOptions.DefaultUnknownWords).ToArray();
        using var synthesizer = SpeechSynthesizer.OpenFresh();
        var rng = new Random(0);
        synthesizer.Synthesize("warm up");
        double audioSeconds = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < clips; i++)
        {
            var (accent, variant) = SpeakerCatalog.Voices[rng.Next(SpeakerCatalog.Voices.Count)];
            var voice = new SynthesisVoice { Voice = accent, Variant = variant, Rate = rng.Next(120, 260), Pitch = rng.Next(20, 80) };
            audioSeconds += synthesizer.Synthesize(words[i % words.Length], voice, seed: i).Seconds;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return new("espeak-ng synthesis, one-word clips at 16 kHz", clips / seconds, "clips/s", "real time", audioSeconds / seconds,
            $"{clips} clips, {audioSeconds:0} s of audio in {seconds:0.00} s (ratio = audio seconds per wall second); voice changed every clip");
    }
}
