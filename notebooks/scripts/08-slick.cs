// 08 · SLiCK: keywords you type, spotted in audio: the notebook 08-slick.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/08-slick.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
#:project ../../lib/EfficientML/EfficientML.csproj
#:project ../../kernel-extensions/EfficientML.Interactive/EfficientML.Interactive.csproj
#:package Microsoft.DotNet.Interactive
#:package Microsoft.DotNet.Interactive.Formatting
#:property PublishAot=false
#:property TreatWarningsAsErrors=false
#:property GenerateDocumentationFile=false

using EfficientML.Audio;
using EfficientML.Cloning;
using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Export;
using EfficientML.Interactive.Scripting;
using EfficientML.Interactive;
using EfficientML.KeywordSpotting;
using EfficientML.Models;
using EfficientML.Pipeline;
using EfficientML.Reparam;
using EfficientML.Routing;
using EfficientML.Slick;
using EfficientML.Speculative;
using EfficientML.Text;
using TorchSharp;
using static EfficientML.Interactive.Scripting.ScriptHost;
using static TorchSharp.torch;

// # 08 · SLiCK: keywords you type, spotted in audio
//
// A fixed keyword spotter knows the words it was trained on and nothing else. A *user-defined* spotter lets you type any
// keyword — a name, a made-up word — and listens for it. The model never learns the keyword as a class: it learns to
// **match** audio against a keyword's *phonemes*. The text side turns the typed word into phonemes; the audio side encodes
// what is said; a matcher decides whether the two agree.
//
// The hard part is telling apart words that sound almost the same: *brave* and *bravo*, *whale* and *whaler*. SLiCK
// (Subsequences for Length-Constrained Keyword spotting) adds a finer question to the training: for every prefix of the
// keyword — its first phoneme, its first two, … — does the audio contain it? That **subsequence-level** loss tells the
// matcher exactly where two similar keywords part. The keyword is padded to a fixed length L instead of being pooled, so the
// matcher keeps the order of its phonemes.
//
// You will phonemise words by hand and see where L comes from, push one audio–keyword pair through an untrained matcher by
// hand, look at and listen to the training pairs, train SLiCK and the same model without the subsequence loss on the same
// data and budget, compare their ROC curves, type a keyword of your own, try the real voice, scan a long recording, and
// measure what it costs.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("08-slick", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: a small dataset and a few training steps, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. Phonemes, by hand
//
// The text side reads a keyword as **phonemes**, from an inventory of 40 English phonemes (16 vowels, 24 consonants; id 0
// is padding). espeak-ng's letter-to-sound rules pronounce any word you type — the same engine that speaks the training
// audio, so a keyword's phonemes are the ones its utterances contain. Change `myWord` and run the cell again.

var phonemizer = Phonemizer.Shared;
string myWord = "brave";
display($"\"{myWord}\" → {string.Join(" ", phonemizer.Names(myWord))}   (ids {string.Join(", ", phonemizer.Phonemize(myWord))})");
display(new[] { myWord, "bravo", "grave", "whale", "whaler", "call me ishmael", "qwrtz" }
    .Select(w => new { text = w, phonemes = string.Join(" ", phonemizer.Names(w)), count = phonemizer.Phonemize(w).Length,
                       editDistanceTo = $"{SlickPairs.EditDistance(phonemizer.Phonemize(myWord), phonemizer.Phonemize(w))} from \"{myWord}\"" }));

// What cannot be read as English is refused with one message rather than guessed at:

foreach (var bad in new[] { "", "héllo", "@@@" })
{
    try { phonemizer.Phonemize(bad); }
    catch (InvalidSettingsException e) { display($"\"{bad}\": {e.Message}"); }
}

// ### Where L comes from
//
// The keyword phrases are cut from *Moby-Dick*: one to four words each, and the **test phrases use only words that no
// training phrase uses**, so every test keyword is new to the model. Every keyword is padded to the same length L, the
// 99th percentile of the phrases' phoneme counts: long enough for almost all phrases, short enough that the matcher's
// utterance head (which reads all L positions at once) stays small. Longer keywords are refused at enrolment.

var experiment = quick ? SlickExperimentOptions.Quick : new SlickExperimentOptions();
var phrases = SlickPhrases.Build(experiment.Dataset.Phrases);
int L = phrases.MaxKeywordLength;
display($"{phrases.Train.Count} training, {phrases.Validation.Count} validation and {phrases.Test.Count} test phrases; " +
        $"{phrases.TrainWords.Count} training words, {phrases.TestWords.Count} test words, shared: {phrases.TrainWords.Intersect(phrases.TestWords).Count()}; " +
        $"mean length {phrases.MeanLength:0.0} phonemes, L = {L}");
display(SlickRocCharts.Lengths(phrases));

// ## 2. One pair through the matcher, by hand
//
// An **untrained** model, one clip and one keyword, step by step:
//
// 1. *Audio encoder*: log-mel frames (10 ms) → a strided convolution (one encoding per 40 ms) → a bidirectional GRU.
//    A CTC head over it guesses phonemes.
// 2. *Text encoder*: the keyword's phoneme ids, padded to L → embeddings → a left-to-right GRU, so position k knows the
//    first k + 1 phonemes and nothing after them.
// 3. *Matcher*: each keyword position attends over the audio encodings (cross-attention); a left-to-right GRU carries the
//    match along the keyword. Two heads read it: the **subsequence head** at every position ("is this prefix in the
//    audio?") and the **utterance head** over all L positions at once, padding zeroed ("is the keyword in the audio?").

Seeding.Everything(0);
var fresh = new SlickModel(experiment.Model with { MaxKeywordLength = L });
fresh.eval();
var handSpeech = SpeechSynthesizer.Open().Synthesize("a brave whale", new SynthesisVoice { Voice = "en-us", Variant = "f2" });
var handWindow = AudioMixing.Centre(handSpeech.Samples, (int)Math.Round(experiment.Dataset.ClipSeconds * 16000));   // centred in a 2.5-s window
var handFeatures = KeywordFeatures.Normalise(new LogMel().Compute(tensor(handWindow, new long[] { 1, handWindow.Length })));  // [1, 40 mels, frames]
var handIds = phonemizer.Keyword(myWord, L);
int handLength = phonemizer.Phonemize(myWord).Length;
var handKeyword = tensor(handIds.Select(i => (long)i).ToArray(), new long[] { 1, L });
Tensor handUtterance, handSubsequence, handAttention, handCtc, handAudio, handText;
using (no_grad())
{
    (handAudio, handCtc) = fresh.EncodeAudio(handFeatures);           // [1, T', d] and [1, T', 40]
    handText = fresh.EncodeText(handKeyword);                          // [1, L, d]
    var mask = fresh.KeywordMask(handKeyword);                         // [1, L]: true where a phoneme stands
    (handUtterance, handSubsequence, handAttention) = fresh.Match(handAudio, handText, mask);
}
display(new[]
{
    new { step = "log-mel features", shape = string.Join(" × ", handFeatures.shape) },
    new { step = "audio encodings (one per 40 ms)", shape = string.Join(" × ", handAudio.shape) },
    new { step = "CTC phoneme log-probabilities", shape = string.Join(" × ", handCtc.shape) },
    new { step = $"keyword encodings (L = {L})", shape = string.Join(" × ", handText.shape) },
    new { step = "cross-attention (keyword position × audio encoding)", shape = string.Join(" × ", handAttention.shape) },
    new { step = "subsequence logits (one per position)", shape = string.Join(" × ", handSubsequence.shape) },
    new { step = "utterance logit", shape = string.Join(" × ", handUtterance.shape) },
});

// The attention of the keyword's phonemes over the audio, drawn as a heat map, with the prefix probabilities beside it.
// Untrained, the attention is spread almost evenly and every probability is near one half: nothing has been learned yet.

var handAttentionArray = new float[handLength, handAttention.shape[2]];
for (int k = 0; k < handLength; k++)
    for (int t = 0; t < handAttention.shape[2]; t++) handAttentionArray[k, t] = handAttention[0, k, t].item<float>();
var handMatch = new SlickMatch(new SlickKeyword(myWord, handIds.Take(handLength).ToArray(), handIds), handUtterance.sigmoid().item<float>(),
    handSubsequence[0].narrow(0, 0, handLength).sigmoid().data<float>().ToArray(), handAttentionArray, 0.04, Array.Empty<int>());
display(SlickAlignmentCharts.Alignment(handMatch, $"Untrained: \"{myWord}\" against \"a brave whale\""));

// ### Padding does not change the score
//
// Fill the padding positions with arbitrary phonemes and give the model the keyword's true length: the text encoder and
// the matcher run left to right, so no real position sees what follows it, and the utterance head zeroes the padding
// before it reads. The score must not move.

var junk = (long[])handKeyword.data<long>().ToArray().Clone();
var junkRng = new Random(7);
for (int k = handLength; k < L; k++) junk[k] = junkRng.Next(1, Phonemizer.Count);
float paddingDelta, prefixDelta;
using (no_grad())
{
    var lengths = tensor(new long[] { handLength });
    var clean = fresh.Forward(handFeatures, handKeyword, lengths);
    var padded = fresh.Forward(handFeatures, tensor(junk, new long[] { 1, L }), lengths);
    paddingDelta = (clean.Utterance - padded.Utterance).abs().max().item<float>();
    prefixDelta = (clean.Subsequence.narrow(1, 0, handLength) - padded.Subsequence.narrow(1, 0, handLength)).abs().max().item<float>();
}
display($"keyword  {string.Join(" ", handKeyword.data<long>().ToArray().Select(i => Phonemizer.Name((int)i)))}");
display($"junk pad {string.Join(" ", junk.Select(i => Phonemizer.Name((int)i)))}");
display($"|Δ utterance logit| = {paddingDelta:0.0e+0}, max |Δ prefix logit| = {prefixDelta:0.0e+0}");

// ## 3. The data: pairs
//
// Each training example is a **pair**: a clip in which a voice says a phrase, and a keyword. A *positive* pairs the clip
// with its own phrase; an *easy negative* with a random other phrase; a *hard negative* with a phrase (or a phoneme
// sequence) within two phoneme edits of it — a near miss. Every clip is said by an espeak-ng voice with its own pitch and
// rate, shifted, often mixed with recorded noise and sometimes band-limited like a telephone; training, validation and test
// never share a voice, and the test phrases never share a word with training.

var data = SlickExperiment.Prepare(experiment);
var dataset = data.Dataset;
display($"{dataset.Train.Examples.Count} training clips ({dataset.Train.Speakers.Count} voices), {dataset.Validation.Examples.Count} validation and " +
        $"{dataset.Test.Examples.Count} test pairs ({dataset.Validation.Speakers.Count} and {dataset.Test.Speakers.Count} other voices), " +
        $"{data.Real?.Count ?? 0} real-voice pairs; L = {dataset.MaxKeywordLength}");
SlickHtml.Pairs(dataset.Test.Examples.GroupBy(e => e.Kind).SelectMany(g => g.Take(3))).DisplayAs("text/html");

// The keyword's phonemes are coloured by the **subsequence target**: position k is green (1) when the keyword's first
// k + 1 phonemes occur, in order, in the spoken phrase. A positive is green throughout; a near miss is green up to where it
// parts from what was said (if it starts the same way), grey after.
//
// How far the keywords are from what is said, by kind of pair:

var distanceKinds = new[] { SlickPairKind.EasyNegative, SlickPairKind.HardNegative };
int maxDistance = dataset.Train.Examples.Max(e => e.Pair.EditDistance);
var distanceLabels = Enumerable.Range(1, maxDistance).Select(d => d.ToString()).ToList();
display(SlickScoreCharts.Grouped(distanceLabels,
    distanceKinds.Select(k => (k.ToString(), (IReadOnlyList<double>)Enumerable.Range(1, maxDistance)
        .Select(d => (double)dataset.Train.Examples.Count(e => e.Kind == k && e.Pair.EditDistance == d)).ToList())),
    "Phoneme edit distance between keyword and phrase said (training pairs)", "edit distance", "pairs"));

// Listen to a few: the label under each clip is what is said and the keyword it is paired with.

var listenLogMel = new LogMel();
AudioCharts.AudioGallery(dataset.Test.Examples.GroupBy(e => e.Kind).SelectMany(g => g.Take(2)).Select(e =>
    ($"{e.Kind}: \"{e.Pair.Anchor.Text}\" vs /{e.Pair.KeywordPhonemes}/", e.Samples, 16000, (float[,]?)listenLogMel.ComputeArray(e.Samples))), columns: 2)
    .DisplayAs("text/html");

// ## 4. Two trainings, one budget
//
// The same model, the same data, the same seed and the same number of steps, trained twice. Training pairs are drawn
// afresh at every step (each clip against itself, a random phrase or a near miss), in the same order for both. The loss:
//
// - **SLiCK**: utterance-level match (binary cross-entropy) + subsequence-level match at every keyword position + CTC
//   phoneme recognition on the audio;
// - **without subsequence**: the same with the subsequence term removed.
//
// The validation loss in the charts is the utterance-level cross-entropy on the same fixed validation pairs for both.

int seed = experiment.Seeds[0];
var (slickModel, slickTrial) = SlickExperiment.Train(data, SlickVariant.Slick, seed, experiment, progress: LiveView.Following());

var (baselineModel, baselineTrial) = SlickExperiment.Train(data, SlickVariant.Baseline, seed, experiment, progress: LiveView.Following());

// ## 5. ROC curves and the equal error rate
//
// Each model scores every test pair (new words, new voices). Sweeping a threshold over the scores traces the **ROC curve**:
// the share of true matches accepted against the share of non-matches accepted. The **AUC** is the area under it (the
// chance that a random match outscores a random non-match); the **EER** (◆) is where false accepts equal false rejects.
// Easy negatives are the everyday case; hard negatives are where the subsequence loss should matter.

display(SlickRocCharts.Curves(new[] { ("SLiCK", slickTrial.Test.Easy), ("without subsequence", baselineTrial.Test.Easy) }, "Test pairs: positives against easy negatives"));
display(SlickRocCharts.Curves(new[] { ("SLiCK", slickTrial.Test.Hard), ("without subsequence", baselineTrial.Test.Hard) }, "Test pairs: positives against hard negatives (near misses)"));

// And on the **real voice**: one person's recorded telephone prompts (no noise added, nothing above 4 kHz), paired the same
// way. Neither model heard a human voice in training.

display(SlickRocCharts.Curves(new[] { ("SLiCK, easy", slickTrial.Real!.Easy), ("SLiCK, hard", slickTrial.Real!.Hard),
    ("without subsequence, easy", baselineTrial.Real!.Easy), ("without subsequence, hard", baselineTrial.Real!.Hard) }, "Real voice: positives against easy and hard negatives"));

// All of it in one table (one seed here; `SlickExperiment.Run` trains each variant with several seeds and gives mean ±
// spread), and where each kind of pair's scores fall:

var comparison = new SlickAblation(experiment, L, data.Train.Count, data.Test.Count, data.Real?.Count ?? 0, new[] { baselineTrial, slickTrial });
SlickHtml.SummaryTable(comparison.Summary()).DisplayAs("text/html");
display(SlickScoreCharts.Distribution(slickTrial.Test, "SLiCK: test scores by kind of pair"));
display(SlickScoreCharts.Distribution(baselineTrial.Test, "Without subsequence: test scores by kind of pair"));

// ## 6. A keyword you type
//
// Enrolment is the text side alone: phonemise the keyword, pad it to L, encode it once. Then any clip is matched against
// it. Type your own `myKeyword` and a near miss `nearMiss` (a word that sounds almost the same), and hear both said by
// voices of the test split.

string myKeyword = "brave";
string nearMiss = "bravo";
var spotter = new SlickSpotter(slickModel, experiment.Dataset.ClipSeconds);
var enrolled = spotter.Enrol(myKeyword);
var enrolledNear = spotter.Enrol(nearMiss);
display(enrolled);
display(enrolledNear);
display($"\"{myKeyword}\" is {(phrases.TrainWords.Contains(enrolled.Text) ? "a training word" : "not a training word")}; " +
        $"{SlickPairs.EditDistance(enrolled.Phonemes, enrolledNear.Phonemes)} phoneme edits from \"{nearMiss}\"");

var voices = dataset.Test.Speakers.Take(quick ? 3 : 6).ToList();
var synthesizer = SpeechSynthesizer.Open();
var typedRows = voices.Select(v =>
{
    var keywordClip = synthesizer.Synthesize(myKeyword, v.Voice()).Samples;
    var nearClip = synthesizer.Synthesize(nearMiss, v.Voice()).Samples;
    return (Voice: v.Name, KeywordClip: keywordClip, NearClip: nearClip,
            OnKeyword: spotter.Match(keywordClip, new[] { enrolled, enrolledNear }), OnNear: spotter.Match(nearClip, new[] { enrolled, enrolledNear }));
}).ToList();
AudioCharts.AudioGallery(typedRows.Take(3).SelectMany(r => new[] { ($"\"{myKeyword}\" by {r.Voice}", r.KeywordClip, 16000, (float[,]?)null), ($"\"{nearMiss}\" by {r.Voice}", r.NearClip, 16000, (float[,]?)null) }), columns: 2)
    .DisplayAs("text/html");
display(SlickScoreCharts.Grouped(typedRows.Select(r => r.Voice).ToList(), new[]
{
    ($"\"{myKeyword}\" said, scored as \"{myKeyword}\"", (IReadOnlyList<double>)typedRows.Select(r => r.OnKeyword[0].Score).ToList()),
    ($"\"{nearMiss}\" said, scored as \"{myKeyword}\"", (IReadOnlyList<double>)typedRows.Select(r => r.OnNear[0].Score).ToList()),
    ($"\"{nearMiss}\" said, scored as \"{nearMiss}\"", (IReadOnlyList<double>)typedRows.Select(r => r.OnNear[1].Score).ToList()),
}, $"SLiCK's scores for \"{myKeyword}\" and the near miss \"{nearMiss}\", by test voice", "test voice"));

// One clip in detail with `#!kws-match`: the keyword's phonemes against those the CTC head heard (green: found in order),
// and where each phoneme of each keyword looks in the audio, with the probability of each prefix beside it. Where the two
// keywords part, the prefix probabilities of the wrong one should fall.

// #!kws-match --model slickModel --keywords "brave, bravo" --text "brave" --voice en-us+f2 --name typedMatch
var typedMatchSpotter = new SlickSpotter(slickModel);
var typedMatchKeywords = new[] { "brave", "bravo" }.Select(typedMatchSpotter.Enrol).ToList();
var typedMatchAudio = SpeechSynthesizer.Open().Synthesize("brave", new SynthesisVoice { Voice = "en-us", Variant = "f2" }, seed: 0).Samples;
var typedMatch = typedMatchSpotter.Match(typedMatchAudio, typedMatchKeywords);
SlickMatchHtml.Clip(typedMatchAudio, typedMatch, "\"brave\" said by en-us+f2").DisplayAs("text/html");

// The same in C#: `var s = new SlickSpotter(slickModel); s.Match(samples, new[] { "brave", "bravo" }.Select(s.Enrol).ToList())`
// returns one `SlickMatch` per keyword (score, prefix probabilities, attention, phonemes heard); the magic kept the list as
// `typedMatch`.
//
// ## 7. The real voice
//
// Allison's recorded prompts (telephone quality). `--voice real` picks the prompt by its text; here a prompt against its own
// text and a near miss:

// #!kws-match --model slickModel --keywords "thank you, thank god" --text "thank you" --voice real --name realMatch
var realMatchSpotter = new SlickSpotter(slickModel);
var realMatchKeywords = new[] { "thank you", "thank god" }.Select(realMatchSpotter.Enrol).ToList();
var realMatchAudio = SlickRealVoice.Load().Clips.First(c => c.Text == "thank you").Clip.Samples;
var realMatch = realMatchSpotter.Match(realMatchAudio, realMatchKeywords);
SlickMatchHtml.Clip(realMatchAudio, realMatch, "\"thank you\" said by Allison (real)").DisplayAs("text/html");

// In C#: `SlickRealVoice.Load().Clips.First(c => c.Text == "thank you").Clip.Samples` is the clip, then `Match` as above.
// Every prompt against its own text, scored by both models:

var realSet = SlickRealVoice.Load();
var baselineSpotter = new SlickSpotter(baselineModel, experiment.Dataset.ClipSeconds);
var realPrompts = realSet.Clips.Take(quick ? 8 : 20).ToList();
display(SlickScoreCharts.Grouped(realPrompts.Select(c => c.Text).ToList(), new[]
{
    ("SLiCK", (IReadOnlyList<double>)realPrompts.Select(c => spotter.Match(c.Clip.Samples, new[] { spotter.Enrol(c.Text) })[0].Score).ToList()),
    ("without subsequence", (IReadOnlyList<double>)realPrompts.Select(c => baselineSpotter.Match(c.Clip.Samples, new[] { baselineSpotter.Enrol(c.Text) })[0].Score).ToList()),
}, "Real voice: each prompt scored against its own text", "prompt"));

// ## 8. Scanning a long recording
//
// A spotter in use hears a stream, not clips. `#!kws-match --stream` builds a recording of test phrases by test voices over
// noise, with the first keyword said now and then (its times known), slides a window the length of a training clip over it
// every 250 ms, and scores every window against every enrolled keyword. The audio of a window is encoded once for all
// keywords. A detection is a window at or above the threshold (the best one within 1.5 s); it is a hit when it falls on a
// time the keyword was said (shaded), a false alarm otherwise.

// #!kws-match --model slickModel --keywords "brave, bravo" --stream 30 --name scan
var scanSpotter = new SlickSpotter(slickModel);
var scanKeywords = new[] { "brave", "bravo" }.Select(scanSpotter.Enrol).ToList();
var scanRecording = SlickStream.Build(new SlickDatasetOptions(), SlickPhrases.Build(), "brave", seconds: 30, seed: 0);
var scanOptions = new SlickScanOptions();
var scan = scanSpotter.Scan(scanRecording.Samples, scanKeywords, scanOptions, scanRecording.Events);
SlickMatchHtml.Stream(scanRecording, scan, scanOptions).DisplayAs("text/html");

// In C#: `SlickStream.Build(new SlickDatasetOptions(), SlickPhrases.Build(), "brave", seconds: 30)` makes the recording and
// `spotter.Scan(recording.Samples, keywords, new SlickScanOptions(), recording.Events)` the `SlickScan`, kept as `scan`.
//
// A match score is not a calibrated probability, so 0.5 would be an arbitrary threshold. Training chose the model's
// `DecisionThreshold` on labelled pairs instead, at the equal-error point of the validation pairs, and the scan above used
// it. A stricter threshold trades hits for fewer false alarms: the same recording (the same seed gives the same audio)
// scanned again with the threshold raised.

var recording = SlickStream.Build(new SlickDatasetOptions(), SlickPhrases.Build(), "brave", seconds: 30, seed: 0);
var strictOptions = new SlickScanOptions { Threshold = Math.Min(0.99, slickModel.DecisionThreshold + 0.15) };
var strictScan = spotter.Scan(recording.Samples, scan.Keywords, strictOptions, recording.Events);
display($"threshold {scan.Threshold:0.000} (the validation pairs' equal-error point): {scan.Score}; threshold {strictScan.Threshold:0.000}: {strictScan.Score}");
SlickMatchHtml.Stream(recording, strictScan, strictOptions).DisplayAs("text/html");

// ## 9. What it costs
//
// SLiCK splits its work the way it runs: the **audio side** once per window whatever the number of keywords, the **text
// side** once per keyword at enrolment, and the **matcher** once per window and keyword. Parameters and multiply-accumulates
// (MACs) come from the shapes; the times are measured here (batch 1, medians).

var cost = SlickCost.Measure(slickModel, 1.0, repeats: quick ? 10 : 100);
display(cost);
var keywordCounts = Enumerable.Range(1, 10).Select(k => (double)k).ToList();
display(SeriesChart.Lines(new[]
{
    new Series("audio side (once per window)", keywordCounts, keywordCounts.Select(_ => cost.AudioMs ?? 0).ToList()),
    new Series("audio side + matcher per keyword", keywordCounts, keywordCounts.Select(k => (cost.AudioMs ?? 0) + k * (cost.MatcherMs ?? 0)).ToList()),
}, "Measured ms per 1-s window of audio, against the number of enrolled keywords", "enrolled keywords", "ms per window", markers: true));
display(SeriesChart.Lines(new[] { new Series("MACs per window", keywordCounts, keywordCounts.Select(k => (double)cost.MacsFor((int)k)).ToList()) },
    "Multiply-accumulates per 1-s window, against the number of enrolled keywords", "enrolled keywords", "MACs", markers: true));

// ## 10. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
Check(paddingDelta == 0 && prefixDelta == 0, $"junk in the padding changes neither the score nor a prefix's logit (|Δ| {paddingDelta}, {prefixDelta})");
Check(phrases.TrainWords.Intersect(phrases.TestWords).Count() == 0, "test phrases share no word with training phrases");
Check(dataset.Train.Speakers.Select(s => s.Name).Intersect(dataset.Test.Speakers.Select(s => s.Name)).Count() == 0, "test voices are not training voices");
Check(dataset.Test.Examples.All(e => e.Kind != SlickPairKind.HardNegative || e.Pair.EditDistance is >= 1 and <= SlickPairs.HardDistance),
      $"every hard negative is 1 to {SlickPairs.HardDistance} phoneme edits from what is said");
var rescored = SlickTraining.Score(slickModel, data.Test);
Check(rescored.Scores.Zip(slickTrial.Test.Scores).All(p => Math.Abs(p.First - p.Second) < 1e-5), "SLiCK's test scores are computed by the trained model (scored again, the same)");
var rocs = new[] { slickTrial, baselineTrial }.SelectMany(t => new[] { t.Test.Easy, t.Test.Hard, t.Real!.Easy, t.Real!.Hard }).ToList();
Check(rocs.All(r => r.Auc is >= 0 and <= 1 && r.Eer is >= 0 and <= 1), "every AUC and EER lies in [0, 1]");
Check(Math.Abs(SlickRoc.Of(slickTrial.Test.Scores, slickTrial.Test.Labels).Auc - slickTrial.Test.Roc().Auc) < 1e-12, "the ROC is computed from the scores");
Check(typedRows.All(r => r.OnKeyword.All(m => m.Prefixes.Length == m.Keyword.Phonemes.Length)), "a match has one prefix probability per keyword phoneme");
Check(new[] { scan, strictScan }.All(x => x.Score!.Hits <= x.Score.Said && x.Score.Said > 0), "the scans' hits are among the keywords really said");
Check(cost.Parameters == slickModel.parameters().Sum(p => p.numel()), "the cost model counts every parameter of the model");
if (!quick)
    Check(slickTrial.Test.Easy.Auc > 0.5, $"SLiCK separates positives from easy negatives better than chance (AUC {slickTrial.Test.Easy.Auc:P1})");

// ## Exercises
//
// 1. **Your keyword.** Set `myKeyword` and `nearMiss` to a pair of your own (a name and a rhyme, a word and its plural).
//    At which phoneme do the prefix probabilities of the wrong keyword fall in the heat map?
// 2. **The ablation.** `SlickExperiment.Run(experiment with { Seeds = [1, 2, 3] })` trains every variant (also SLiCK
//    without CTC) with three seeds; display the `SlickAblation`. Is the difference on hard pairs larger than the spread
//    over seeds?
// 3. **How long is L?** Train with `experiment with { Dataset = experiment.Dataset with { Phrases = experiment.Dataset.Phrases with { LengthQuantile = 0.9 } } }`.
//    Which keywords can no longer be enrolled, and what happens to the cost?
// 4. **Thresholds.** Scan `recording` with thresholds from 0.1 to 0.9 (`new SlickScanOptions { Threshold = t }`) and plot
//    hits against false alarms per hour, for both models.
// 5. **Many keywords.** Enrol ten keywords and scan the same recording. How much longer does it take, and does it match the
//    cost chart of section 9?

scriptHost.Finish();
