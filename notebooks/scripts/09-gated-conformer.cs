// 09 · Dynamic depth: a streaming conformer whose gates skip modules when there is nothing to hear: the notebook 09-gated-conformer.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/09-gated-conformer.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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
using EfficientML.GatedConformer;
using EfficientML.Interactive.Scripting;
using EfficientML.Interactive;
using EfficientML.KeywordSpotting;
using EfficientML.Models;
using EfficientML.Pipeline;
using EfficientML.Reparam;
using EfficientML.Routing;
using EfficientML.Speculative;
using EfficientML.Text;
using TorchSharp;
using static EfficientML.Interactive.Scripting.ScriptHost;
using static TorchSharp.torch;

// # 09 · Dynamic depth: a streaming conformer whose gates skip modules when there is nothing to hear
//
// An always-on keyword spotter spends most of its life listening to nothing: fans, traffic, a quiet room. A network that runs
// every layer on every frame pays full price for silence. The idea here (*dynamic-depth conformer keyword spotting with
// binary gates*) puts a tiny **gate** in front of every module of a streaming conformer. The gate looks at the module's input,
// averaged over a short stretch of time, and says *run* or *skip*. A skipped module does not run at all: its output is its
// input (the residual path). The paper skipped up to 97 % of the processing on non-speech with no loss of accuracy.
//
// You will build one conformer block by hand, see that streaming it chunk by chunk gives exactly the numbers of running the
// whole recording at once, train a gated and an ungated spotter on the same recordings, watch which modules light up on
// speech and stay dark on noise, and measure what was saved.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("09-gated-conformer", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: a few short recordings and a few training steps, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. One conformer block, by hand
//
// Log-mel frames (10 ms each) are stacked four at a time into **steps** of 40 ms and projected to a width d. A conformer block
// is four modules, each added to a residual stream, then a LayerNorm:
//
// ```
// x = x + ½·FF(x)          feed-forward, half a step ("Macaron" sandwich)
// x = x + Attention(x)     self-attention over the last 16 steps only
// x = x + Conv(x)          GLU → causal depthwise convolution → SiLU
// x = x + ½·FF(x)
// x = LayerNorm(x)
// ```
//
// The attention sees a bounded past and the convolution looks only backwards, so the block can stream.
//
// Below, a one-block model whose gates are held at *keep*, computed module by module, against the model's own forward pass.

Seeding.Everything(0);
var tiny = new GatedConformerConfig { Width = 32, Heads = 4, Blocks = 1, FeedForwardWidth = 64, AttentionContext = 8, ConvKernel = 5, Keywords = 3 };
var model = new ConformerSpotter(tiny) { Gating = GateMode.Keep };
model.eval();
var features = randn(1, tiny.Mels, 48);                       // (B, mels, frames): 48 frames of 10 ms = 12 steps
Tensor byHand, whole;
using (no_grad())
{
    var x = model.Steps(features);                            // (1, 12, 32): 4 frames per step, projected to d = 32
    var block = model.blocks[0];
    var everyStep = ones(1, 12, dtype: ScalarType.Bool);      // which steps run the attention (all, here)
    x = x + 0.5 * block.feedForwardIn.Forward(x);
    x = x + block.attention.Forward(x, everyStep);
    x = x + block.convolution.Forward(x, ones(1, 12, 1));
    x = x + 0.5 * block.feedForwardOut.Forward(x);
    byHand = model.classifier.forward(block.final.forward(x));   // (1, 12, 4): per step, 3 keywords + "none"
    whole = model.Forward(features).Logits;
}
display($"by hand vs model.Forward: max |Δ logits| = {(byHand - whole).abs().max().item<float>():0.0e+0}");

// Causal: change the last 160 ms of the input, and no earlier step's output moves.
var changed = features.clone();
changed[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(32, 48)] = randn(1, tiny.Mels, 16);
Tensor later;
using (no_grad()) later = model.Forward(changed).Logits;
var movedPerStep = (later - whole).abs().amax(new long[] { 0, 2 }).data<float>().ToArray();
display(SeriesChart.Bars(Enumerable.Range(0, 12).Select(t => $"{t * 40}–{t * 40 + 40} ms").ToList(), movedPerStep.Select(v => (double)v).ToList(),
    title: "How far each step's logits move when only the last 160 ms change", xTitle: "step", yTitle: "max |Δ logit|"));

// The first eight steps do not move at all: nothing in the block looks ahead, so a stream can emit a step's output as soon as
// its frames have arrived.
//
// ### A gate
//
// Before each module sits a gate: a two-layer network that reads the module's input averaged over a **gate block** of four
// steps (160 ms) and gives one logit. Positive: run the module for these four steps. Otherwise skip it; its contribution is
// zero and the residual stream passes through unchanged. In training the decision is a straight-through Gumbel-sigmoid
// sample (hard 0/1 forward, the sigmoid's gradient backward) and a cost term pushes the average share of running modules
// down; at inference it is the logit's sign.
//
// A gate also reads the same averages of the **two blocks before** its own (`GatedConformerConfig.GateContext`, zeros before
// the recording starts): 160 ms alone rarely tells the first syllable of a word from a burst of noise, and a gate that cannot
// tell them apart either stays open on noise or closes on speech. A stream keeps each gate's last two averages, as it keeps
// the attention's keys. Here is the first feed-forward module's gate, its input built by hand:

var tinyGated = new ConformerSpotter(tiny with { Gated = true });
tinyGated.eval();
float gateByHandDelta;
using (no_grad())
{
    var pooled = tinyGated.Steps(features).view(1, 3, 4, -1).mean([2]);          // (B, J = 3 gate blocks, d): the block's input averaged
    var before1 = cat([zeros(1, 1, tiny.Width), pooled.narrow(1, 0, 2)], 1);        // beside each block, the block before it …
    var before2 = cat([zeros(1, 2, tiny.Width), pooled.narrow(1, 0, 1)], 1);        // … and the one before that (zeros before the start)
    var logits = tinyGated.blocks[0].gates[0].forward(cat([pooled, before1, before2], -1)); // the first feed-forward's gate: (1, 3)
    gateByHandDelta = (logits.sigmoid() - tinyGated.Forward(features).RunProbability![0, 0]).abs().max().item<float>();
    display($"first gate's logits per gate block: {string.Join(", ", logits.data<float>().ToArray().Select(v => v.ToString("0.00")))} " +
            $"(fresh gates start open: bias +3); max |Δ| against the model's own gate: {gateByHandDelta:0.0e+0}");
}
long[] callsWhenSkipped = [];
var counts = new List<object>();
foreach (var mode in new[] { GateMode.Learned, GateMode.Skip })
{
    tinyGated.Gating = mode;
    foreach (var m in tinyGated.GatedModules) m.ResetCounts();
    var run = ConformerStream.Run(tinyGated, features[0], chunkFrames: 7);
    var calls = tinyGated.GatedModules.Select(m => m.Calls).ToArray();
    if (mode == GateMode.Skip) callsWhenSkipped = calls;
    counts.Add(new { gating = mode.ToString(), skipped = run.SkippedShare, callsPerModule = string.Join(", ", calls) });
}
tinyGated.Gating = GateMode.Learned;
display(counts);

// A module whose gate says *skip* is not called at all in a stream. Each module counts its calls: with every gate at *skip*, no module ran once (all calls 0) and the block reduces to its LayerNorm; with the fresh gates,
// every module ran once per gate block (3 calls each).
//
// ## 2. Streaming equals the whole recording
//
// A microphone delivers audio in chunks. The stream keeps, per block, the attention's keys and values of the last 16 steps
// (and which of them exist: steps before the start, or whose attention was skipped, have none) and the convolution's last
// K − 1 inputs; frames wait until a whole gate block has arrived. So the output must not depend on the chunk size, and must
// equal the whole-recording computation, which runs every module and masks the skipped ones with the same rules.
// Here with the full-size model and gates set to a mix of run and skip:

var full = new ConformerSpotter(new GatedConformerConfig());
full.eval();
var rng = new Random(5);
using (no_grad())
    foreach (var block in full.blocks)
        foreach (var gate in block.gates)
        {
            gate.output.weight!.mul_(0.01);                                         // decide by the bias alone …
            gate.output.bias!.fill_(rng.Next(3) == 0 ? -3.0 : 3.0);                 // … about a third skip
        }
var recording = randn(40, 600) * 3 - 5;                                           // 6 s of log-mel-like frames
ConformerOutput reference;
using (no_grad()) reference = full.Forward(recording.unsqueeze(0));
var expected = reference.Logits.softmax(-1).squeeze(0).data<float>().ToArray();
var chunkSizes = new[] { 1, 3, 16, 50, 600 };
var deltas = chunkSizes.Select(chunk =>
{
    var streamed = ConformerStream.Run(full, recording, chunk).Posteriors;
    return Enumerable.Range(0, streamed.Length).Max(i => Math.Abs(streamed[i / streamed.GetLength(1), i % streamed.GetLength(1)] - expected[i]));
}).ToArray();
var streamingDelta = deltas.Max();
display($"{ConformerStream.Run(full, recording, 16).SkippedShare:P0} of module runs skipped; max |Δ posterior| stream vs whole: {streamingDelta:0.0e+0}");
display(SeriesChart.Bars(chunkSizes.Select(c => $"{c * 10} ms").ToList(), deltas.Select(d => (double)d).ToList(),
    title: "Stream vs whole recording, by chunk size (float32 rounding only)", xTitle: "audio per pushed chunk", yTitle: "max |Δ posterior|"));

// ## 3. The recordings
//
// The spotter learns from long recordings, not clips: words said by espeak-ng voices at known times in recorded noise (the
// speech stack's streaming mode: 60 % of the words are the 14 keywords, the rest other words), plus recordings of noise only
// and of near-silence. Training, validation and test recordings use voices of their own split only. Each 40 ms step gets a
// target: the keyword from the middle of the word to 200 ms after its end (a causal model cannot know the word before it
// has heard most of it; its first half is left out of the loss), "none" everywhere else; keyword steps also learn how far
// back the word started and how far on it ends.

var sample = GatedStreamData.Recording(new GatedStreamOptions { StreamSeconds = 12, Seed = 3 }, new GatedConformerConfig(), StreamKind.Speech);
var labelNames = KeywordDatasetOptions.DefaultKeywords.Append("none").ToList();
AudioCharts.AudioView(sample.Samples, 16000, new LogMel().ComputeArray(sample.Samples), "A training-style recording: words at known times in noise").DisplayAs("text/html");
display(string.Join("   ", sample.Events.Select(e => $"{e.Word} {e.Start:0.00}–{e.End:0.00} s" + (e.Label < 14 ? " (keyword)" : ""))));
display(SeriesChart.Line(sample.StepLabels.Select(l => l < 0 ? double.NaN : l).ToList(), Enumerable.Range(0, sample.Steps).Select(t => t * 0.04).ToList(),
    title: "Per-step target: keyword index 0–13, 14 = none, gaps = left out (first half of a keyword)", xTitle: "time (s)", yTitle: "target class"));

// ## 4. Two trainings, one budget
//
// `#!gated` builds the recordings, then trains the plain conformer and the gated one from **the same starting weights** on
// the same batches for the same number of steps. The gated model's loss has a third term, the compute cost: the gates'
// average probability of running a module, held under a target share (and pulled down a little below it, so gates that
// help nothing close). The recordings say where their words are, so the pull is weighed by what a gate block holds: where a
// word sounds it turns into a push twice as strong (`GatedTrainingOptions.SpeechPullScale` = −2), so the cost asks
// the gates to close on noise and to open on words. The gates still hear only the audio, in training and in use: they have
// to learn from the sound what a word is. The push is a reward, so once the gates open on words the gated model's training loss can
// fall below zero. The cost weight grows
// from zero over the first 30 % of the steps: the model first learns to hear, then learns what it may skip.
//
// One more term keeps every gate movable. A gate that has grown sure of running its module — a logit of +15, a
// probability of 0.9999997 — passes the cost almost no gradient through its sigmoid, so nothing can close it again, and its
// module runs on everything, noise included. A small penalty on the gates' squared logits
// (`GatedTrainingOptions.GateLogitDecay`, `--gate-decay`, 0.01 by default) keeps the logits within reach of the cost. The
// decisions stay hard: outside training a gate still runs its module or skips it.
//
// The gated model can also learn from the plain one, which is trained first on the same batches: with `--distill 0.5`
// (`GatedTrainingOptions.DistillWeight`) its classification loss is half the cross-entropy on the labels and half the
// divergence from the plain model's per-step class probabilities, both softened at temperature 2 (`DistillTemperature`). A
// label says only which word a step belongs to; the plain model's probabilities also say what else it sounds like and how
// sure one can be. The teacher costs one forward pass of the plain model per step and no extra steps. By default the gated
// model learns from the labels alone; exercise 8 asks whether the teacher helps.

// #!gated --steps 2000 --cost-target 0.35 --streams 24
var gatedReportOptions = new GatedExperimentOptions();
gatedReportOptions = gatedReportOptions with
{
    Model = gatedReportOptions.Model with { GateContext = 2 },
    Training = gatedReportOptions.Training with { CostTarget = 0.35, CostPull = 1.5, SpeechPullScale = -2, DistillWeight = 0, GateLogitDecay = 0.01, CostWeight = 1, Training = gatedReportOptions.Training.Training with { Steps = 2000, Seed = 1 } },
    Data = gatedReportOptions.Data with { TrainStreams = 24, Seed = 0 },
};
if (quick) gatedReportOptions = gatedReportOptions.Quick();
var gatedReportRuns = LiveView.Follow(new[] { GatedTraining.NewRun("conformer", gatedReportOptions.Training), GatedTraining.NewRun("gated conformer", gatedReportOptions.Training) });
var gatedReport = GatedExperiment.Run(gatedReportOptions, ungatedRun: gatedReportRuns[0], gatedRun: gatedReportRuns[1]);
var gated = gatedReport.GatedModel;
var conformer = gatedReport.UngatedModel;
display(gatedReport);

// The same in C#: `GatedExperiment.Run(new GatedExperimentOptions { Training = new GatedTrainingOptions { CostTarget = 0.35 } })`
// returns the `GatedReport` with both trained models. The magic kept them as `gated` and `conformer`, and the report as
// `gatedReport`.
//
// This is one training of each model. Two trainings that differ only in their seed move the per-word accuracy by a few
// points, more than the gates do, so one pair of trainings cannot say whether the gated model kept its accuracy. The
// benchmark (`dotnet run -c Release --project benchmarks -- gated`) repeats both trainings over three seeds on the same
// recordings with `GatedExperiment.RunSeeds` and reports each figure's mean and spread.
//
// ## 5. The gates at work
//
// A new recording by voices neither model heard, streamed in 160 ms chunks. Each row of the raster is one module (four per
// block); it is lit where the module ran. Words said are the white bands over the spectrogram (keywords in bold), the dots
// below are detections (green: a keyword heard; red: a false alarm).

// #!gates --model gated --input speech --seconds 20
var gateRun = GateRun.OnNewRecording(gated, "gated", StreamKind.Speech, seconds: 20, seed: 1, detector: new DetectorOptions { Threshold = 0.5 }, chunkFrames: 16);
display(gateRun);

// And over noise only, where there is nothing to hear:

// #!gates --model gated --input noise --seconds 20 --name noiseRun
var noiseRun = GateRun.OnNewRecording(gated, "gated", StreamKind.Noise, seconds: 20, seed: 1, detector: new DetectorOptions { Threshold = 0.5 }, chunkFrames: 16);
display(noiseRun);

// The plain conformer over the same speech recording runs everything, every step. In C# (`GateRun.OnNewRecording` is what
// `#!gates` calls):

var plainRun = GateRun.OnNewRecording(conformer, "conformer", StreamKind.Speech, seconds: 20, seed: 1);
display(plainRun);

// ## 6. What was saved
//
// Share of module runs skipped per module kind, and the compute per second of audio of both models, timed alternately in
// the same run (so a busy machine slows both alike). A small model like this one spends much of its time on the fixed cost of
// each operation, not on arithmetic, so the time saved is smaller than the share of modules skipped; the gates themselves,
// the input projection, the LayerNorms and the classifier always run.

var r = gatedReport;
display(GatedCharts.SkippedByKind(r.Gated));
display(SeriesChart.Bars(new[] { "conformer: noise", "gated: noise", "conformer: speech", "gated: speech" },
    new[] { r.Timing.UngatedNoise * 1000, r.Timing.GatedNoise * 1000, r.Timing.UngatedSpeech * 1000, r.Timing.GatedSpeech * 1000 },
    title: $"Compute per second of audio (ms), median of {r.Timing.Rounds} alternating rounds", yTitle: "ms per second of audio"));

// ## 7. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
Check((byHand - whole).abs().max().item<float>() <= 1e-5, "the block computed by hand equals the model's forward pass");
Check(movedPerStep.Take(8).All(v => v == 0), "no step's output depends on later audio (causal)");
Check(streamingDelta <= 1e-5, $"streaming in chunks of 10 ms to 6 s equals the whole recording (max |Δ| {streamingDelta:0.0e+0} ≤ 1e-5)");
Check(gateByHandDelta <= 1e-5, "a gate's input built by hand (its block and the two before) gives the model's own decision");
Check(callsWhenSkipped.Length == 4 && callsWhenSkipped.All(c => c == 0), "a module held at skip never runs");
Check(r.Gated.SkippedOnNoise > r.Gated.SkippedOnSpeech || quick, "the gated model skips more on noise than on speech");
Check(r.Ungated.SkippedOnNoise == 0 && r.Ungated.SkippedOnSpeech == 0, "the plain conformer runs every module");
if (!quick)
{
    Check(r.Ungated.WordAccuracy > 0.5, $"the plain conformer classifies most words by unseen voices ({r.Ungated.WordAccuracy:P1})");
    Check(r.Gated.SkippedOnNoise >= 0.8, $"the gated model skips most module runs on noise ({r.Gated.SkippedOnNoise:P1})");
    Check(r.Gated.WordAccuracy >= r.Ungated.WordAccuracy - 0.05,
          $"and keeps its accuracy within 5 points of the plain model's ({r.Gated.WordAccuracy:P1} vs {r.Ungated.WordAccuracy:P1})");
    Check(r.Timing.GatedNoise < r.Timing.UngatedNoise, "and takes less time per second of noise");
}

// ## Exercises
//
// 1. **The price of silence.** Lower the target: `#!gated --cost-target 0.15 --model g15 --baseline c15 --report r15`. How
//    much more is skipped on noise and on speech, and what happens to the accuracy?
// 2. **Which gate decides?** In the raster on speech, which modules open first when a word starts? Count, per block and
//    module, how often it ran on speech (`gateRun.Output.Ran`) and chart it.
// 3. **Larger modules.** The saving in time lags the saving in modules because the modules are small. Train with
//    `new GatedConformerConfig { Width = 144, FeedForwardWidth = 576 }` through `GatedExperiment.Run` and compare the two
//    ratios.
// 4. **Chunk size and latency.** A 160 ms gate block means a stream answers at least 160 ms late. Try `GateSteps = 2` (80 ms)
//    and `GateSteps = 8` (320 ms): skips, accuracy and time.
// 5. **Against a sliding window.** Notebook 06's RepCNN classifies one-second windows. Slide it over the same recording every
//    100 ms and compare its compute per second of audio with the gated conformer's.
// 6. **Why do some gates stay open on noise?** In the raster on noise, which modules are still lit, and of which kind? Take
//    the gates' past and the speech-weighted pull away — `GatedConformerConfig { GateContext = 0 }` with
//    `GatedTrainingOptions { SpeechPullScale = 1, CostPull = 0.5 }`, the recipe before both were added — and train over three
//    seeds with `GatedExperiment.RunSeeds(options, [1, 2, 3])`. Then put back one at a time. Which moves the modules skipped
//    on noise, which the accuracy? Then try `SpeechPullScale = 0.1`, a pull a tenth as strong on words instead of a push:
//    how many modules still run on speech, and what happens to the accuracy? Gate dropout (`GateDropout = 0.2`) and costs weighted by each module's measured time
//    (`ModuleCosts = ConformerTiming.ModuleCosts(new GatedConformerConfig())`) are two more ways to try.
//    Last, take the logit decay away: `#!gated --gate-decay 0 --model g0 --baseline c0 --report r0`, then
//    `#!gates --model g0 --input noise`. Which module stays lit in every block of noise? Read its gate's logits
//    (`RunLogit` of what `g0.Forward` returns for a recording's log-mel features) and work out how much gradient the sigmoid passes at them.
// 7. **Learn the task first, then what to skip.** Give the gated model an open-gate phase: with
//    `GatedTrainingOptions { OpenGateShare = 0.5 }` its first half of the steps trains every module with the gates held
//    open, and only the second half lets the gates decide — the same number of steps as the ungated model. Compare the
//    accuracy and the modules skipped on noise with the default over a few seeds, then raise `CostPull` to buy back skips.
// 8. **Labels alone, or a teacher too?** Train with `#!gated --distill 0.5 --model g5 --baseline c5 --report r5` and
//    compare with the default over the same three seeds (`GatedTrainingOptions { DistillWeight = 0.5 }` with `RunSeeds`).
//    Does the teacher change the accuracy, the modules skipped on noise, or both — and by more than the seeds differ?
// 9. **Move the threshold after training.** A gate runs its module when its probability is above `gated.GateThreshold`
//    (0.5). Look first: `#!gates --model gated --input speech --gate-threshold 0.3` and `--gate-threshold 0.7` draw the
//    raster for one recording. Then set `gated.GateThreshold` to 0.3 and 0.7, score the same test recordings with
//    `GatedExperiment.Evaluate(gated, "gated", data, gatedReportOptions)` on
//    `GatedStreamData.Build(gatedReportOptions.Data, gatedReportOptions.Model)`, and chart accuracy against modules skipped
//    on noise. How far from 0 and 1 are the gates' probabilities, and what does that say about how much a threshold can
//    buy?

scriptHost.Finish();
