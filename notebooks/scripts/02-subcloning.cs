// 02 · Weight subcloning: start a small model from a large trained one: the notebook 02-subcloning.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/02-subcloning.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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
using EfficientML.Speculative;
using EfficientML.Text;
using System.IO;
using TorchSharp;
using static EfficientML.Interactive.Scripting.ScriptHost;
using static TorchSharp.torch;

// # 02 · Weight subcloning: start a small model from a large trained one
//
// Training a small model from random weights throws away what a larger trained model already knows. **Weight subcloning**
// (Samragh et al., 2023) copies a carefully chosen part of the large model's weights into the small one: the most important
// dimensions of the residual stream, the most important heads and MLP neurons, and most of the blocks. The small model starts
// far better than random and, in the paper, trains **4× faster** to the same loss.
//
// In this notebook you will
//
// 1. measure which residual dimensions matter, layer by layer, and see that every layer agrees,
// 2. rank the heads and MLP neurons of one block by their own importance,
// 3. subclone the pretrained tiny model to half its width and half its depth and read the report,
// 4. check that "keep everything" gives back the original exactly,
// 5. race the subclone against a randomly initialised model of the same size, live.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("02-subcloning", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: a few training steps and a small calibration batch, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. Which residual dimensions matter?
//
// Run the pretrained model on a calibration batch of text and record, at the residual stream after the embeddings and after every block,
// the mean absolute activation of each of the 128 dimensions. A dimension that is always near zero carries little; one that is large
// carries a lot.

// #!model --pretrained --name tiny
var tiny = PretrainedModels.LoadTinyMoby();
display(tiny);

var corpus = TextCorpus.MobyDick();
var (calibration, evaluation) = CloningExperiments.CalibrationTokens(corpus, quick);   // training split / validation split, seeded
Tensor states;
using (no_grad()) states = tiny.HiddenStates(calibration);                             // (L+1, B, T, d)
var perLayer = states.abs().mean(new long[] { 1, 2 });                                  // (L+1, d): mean |activation| per layer and dimension
var relative = perLayer / perLayer.mean(new long[] { 1 }, keepdim: true);              // each layer relative to its own mean: later layers are louder
display(HeatMap.Of(relative, title: "mean |activation| per residual dimension (columns) after each layer (rows, 0 = embeddings), relative to the layer's mean"));

// Most bright columns run from top to bottom: a dimension that is important after one block tends to be important after all of them. The residual
// connections explain it: every block *adds* to the stream, so what the embeddings put in a dimension stays there, and later blocks
// write into the same dimensions. That is why subcloning computes the ranking **once** (summed over the layers) and keeps the same
// dimensions everywhere: the embedding columns, every layer norm, the rows of every projection that writes to the stream and the columns
// of every projection that reads from it, and the head.
//
// How much do the layers agree? For each layer, the fraction of its own top-64 dimensions that are in the overall top 64 (a random choice would
// share half):

var summed = perLayer.sum(new long[] { 0 });
var overallTop = summed.argsort(descending: true).narrow(0, 0, 64).data<long>().ToHashSet();
var agreement = Enumerable.Range(0, (int)perLayer.shape[0])
    .Select(l => perLayer[l].argsort(descending: true).narrow(0, 0, 64).data<long>().Count(overallTop.Contains) / 64.0).ToArray();
display(SeriesChart.Bars(Enumerable.Range(0, agreement.Length).Select(l => l == 0 ? "embed" : $"block {l - 1}").ToArray(), agreement,
    title: "share of each layer's own top-64 dimensions that the overall ranking keeps", yTitle: "agreement"));

// ## 2. Heads and neurons: each block ranks its own
//
// Heads and MLP neurons do not live in the residual stream, so each block ranks them by its own measure: a head by the mean norm of what
// it adds to the stream, a neuron by its mean |GELU output| times the norm of its outgoing weights. Half the width keeps half the heads
// (the head width 32 stays), and the MLP shrinks in proportion. Here is block 0:

var shrinkOptions = CloningRecipes.Shrink;        // width 64, 4 of 8 blocks
var (half, report) = Subcloning.Shrink(tiny, shrinkOptions, calibration, evaluation);
var block = 0;
var neurons = report.NeuronImportance[block];
var kept = report.KeptNeurons[block].ToHashSet();
display(new {
    headImportance = report.HeadImportance[block].Select(v => Math.Round(v, 3)).ToArray(),
    keptHeads = report.KeptHeads[block],
    neuronsKept = $"{kept.Count} of {neurons.Length}",
    importanceOfKeptNeurons = $"{neurons.Where((v, i) => kept.Contains(i)).Sum() / neurons.Sum():P0} of the total",
});

// ## 3. Subclone the model
//
// `#!subclone` does all of it: width 64 (from 128), 4 blocks (from 8; by default it keeps the first and last ones and drops from the
// middle, as the paper does — the diagram shows how much each block changes the stream, and `--keep` chooses other blocks), heads and MLP neurons by their own importance, and the kept weights whose inputs shrank
// rescaled by √(d_in/d_in′) so that activations keep their size (a flag, reconstructed from the paper's description; `--no-rescale` turns it off).
// The report shows the importance curve with the cut, which blocks were kept, and the losses before any training.

// #!subclone --model tiny --width 64 --layers 4 --name halfModel --report halfReport
SubcloneResult halfModelResult;
using (var halfModelWindows = Seeding.Generator(1L))
using (var halfModelCalibration = MobyDickCorpus.Get().SampleBatch(Split.Train, 16, Math.Min(128, tiny.Config.ContextLength), halfModelWindows).Inputs)
using (var halfModelEvaluation = MobyDickCorpus.Get().SampleBatch(Split.Validation, 16, Math.Min(128, tiny.Config.ContextLength), halfModelWindows).Inputs)
    halfModelResult = Subcloning.Shrink(tiny, new SubcloneOptions { Dim = 64, Layers = 4 }, halfModelCalibration, halfModelEvaluation, 1L);
var halfModel = halfModelResult.Model;
var halfReport = halfModelResult.Report;
display(halfReport);

// The same in C# is the `Subcloning.Shrink` call of section 2; `halfReport` is drawn the same way. (The magic draws its own calibration windows,
// 16 × 128 with `--seed 1` by default, so its figures differ a little from the notebook's sample.)

display(report);

// The subclone has lost a lot relative to the source (it has a seventh of the parameters and half the blocks), yet its loss starts far below a
// random model's of its size: the copied weights still know the byte statistics. Greedy text shows how much was lost (look again after the race):

var prompt = "Call me Ishmael. Some years ago";
string Greedy(TinyGpt m) => ByteTokenizer.Instance.Decode(m.Generate(ByteTokenizer.Instance.Encode(prompt), new GenerationOptions { MaxNewTokens = 120 }));
display(new { source = prompt + Greedy(tiny), subclone = prompt + Greedy(half) });

// ## 4. Keep everything: the original, exactly
//
// With the full width, every block, every head and every neuron, subcloning must return the model itself: the kept indices are all of them in
// order and every rescaling factor is 1.

var (same, sameReport) = Subcloning.Shrink(tiny, new SubcloneOptions(), calibration, evaluation);
bool identical;
using (no_grad()) identical = same.Forward(evaluation).equal(tiny.Forward(evaluation)).all().item<bool>();
display(new { identical, sourceLoss = Math.Round(sameReport.SourceLoss, 4), lossBeforeTraining = Math.Round(sameReport.LossBeforeTraining, 4) });

// Does the rescaling help? Compare the loss before training with and without it (the benchmark's race uses it):

var (_, noRescale) = Subcloning.Shrink(tiny, shrinkOptions with { RescaleInputs = false }, calibration, evaluation);
display(SeriesChart.Bars(["source", "subclone, rescaled", "subclone, not rescaled", "random init"],
    new[] { report.SourceLoss, report.LossBeforeTraining, noRescale.LossBeforeTraining, report.RandomInitLoss }.Select(l => l / Math.Log(2)).ToArray(),
    title: "validation loss before any training", yTitle: "bits per byte"));

// ## 5. The race: subclone against random initialisation
//
// Train the subclone and a randomly initialised model of the same size with the same budget: the same batches, schedule and steps
// (`CloningRecipes.Race`), side by side, one core each. The mark is the random model's final validation loss; the speed-up is how many times
// fewer steps the subclone needed to get there.

var budget = CloningRecipes.Race(quick);
var randomHalf = new TinyGpt(half.Config, CloningRecipes.RandomInitSeed);
var race = TrainingRace.NewRace(half, randomHalf, corpus, budget, "subclone", "random init");
LiveView.Follow(race);
TrainingRace.Run(half, randomHalf, corpus, race);

display(race);

// After the race, the same prompt, greedy, from both:

display(new { subclone = prompt + Greedy(half), randomInit = prompt + Greedy(randomHalf) });

// `#!race` does the same from a magic (here a short one on the models `#!subclone` made and a fresh random one):

// #!model --name randomHalf2 --layers 4 --dim 64 --heads 2 --mlp 256 --context 256 --seed 99
var randomHalf2 = new TinyGpt(new TinyGptConfig { Layers = 4, Dim = 64, Heads = 2, KvHeads = 2, MlpDim = 256 }, seed: 99L);
display(randomHalf2);

// #!race --challenger halfModel --baseline randomHalf2 --steps 20 --batch 8 --block 64 --lr 2e-3 --warmup 4 --eval-every 5 --race magicRace
var magicRace = TrainingRace.NewRace(halfModel, randomHalf2, MobyDickCorpus.Get(), QuickMode.Apply("#!race", new TrainingOptions { Steps = 20, BatchSize = 8, BlockSize = 64, LearningRate = 0.002, WarmupSteps = 4, EvalEvery = 5 }, QuickMode.Training, quick), "halfModel", "randomHalf2");
LiveView.Follow(magicRace);
TrainingRace.Run(halfModel, randomHalf2, MobyDickCorpus.Get(), magicRace);
magicRace.Challenger.ThrowIfDiverged();
magicRace.Baseline.ThrowIfDiverged();

// `dotnet run -c Release --project benchmarks -- cloning` runs this race with the same settings and prints the ratio with the HyperCloning ones.
//
// ## 6. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
Check(identical, "keeping everything reproduces the original exactly");
Check(report.LossBeforeTraining < report.RandomInitLoss - 1, $"the subclone starts far below random init ({report.LossBeforeTraining:F2} vs {report.RandomInitLoss:F2} nats)");
Check(report.KeptLayers.First() == 0 && report.KeptLayers.Last() == tiny.Config.Layers - 1, $"the first and last blocks are kept ({string.Join(", ", report.KeptLayers)})");
Check(half.Config.Dim == 64 && half.Config.HeadDim == tiny.Config.HeadDim, "half the width, same head width");
Check(race.Challenger.Evaluations[0].ValidationLoss < race.Baseline.Evaluations[0].ValidationLoss, "the subclone starts ahead in the race");
if (!quick) Check(race.SpeedUp is > 2, $"the subclone reaches the random model's final loss in far fewer steps ({race.SpeedUp:F1}×)");

// ## Exercises
//
// 1. **Which blocks?** Keep blocks 0–3 (`KeepLayers = new[] { 0, 1, 2, 3 }`) or 4–7 instead of the first two and last two. Which starts lower, and which trains faster? What does `report.BlockChange` say about the blocks you dropped?
// 2. **A random ranking.** Replace the importance ranking by a random choice of 64 dimensions (hint: subclone, then overwrite the weights using random indices with `index_select`). How much worse is the start?
// 3. **Width or depth?** At about the same parameter count, compare width 96 with 3 blocks against width 64 with 6 blocks.
// 4. **Grow, train, shrink.** Grow `tiny` ×2 (notebook 01), train it a little, then subclone it back to width 128. Does it start better than `tiny` itself?
// 5. **Rescaling.** The rescaling factor √(d_in/d_in′) is a reconstruction. Try factors 1, 1.2 and 1.41 on the attention and MLP inputs separately: which matters?

scriptHost.Finish();
