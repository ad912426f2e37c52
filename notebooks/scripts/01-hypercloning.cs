// 01 · HyperCloning: grow a trained model wider without forgetting anything: the notebook 01-hypercloning.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/01-hypercloning.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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

// # 01 · HyperCloning: grow a trained model wider without forgetting anything
//
// A small model that is already trained knows something; a large model trained from random weights starts from nothing.
// **HyperCloning** (Samragh et al., 2024, *Scaling Smart*) initialises the large model from the small one so that, on the first
// step, the large model computes **exactly the same function**: same logits, same text. Training then uses the extra width.
// The paper reached a random-init large model's final accuracy 2.2–4× sooner.
//
// In this notebook you will
//
// 1. widen one linear layer by hand and see why *tile the weights and divide by n* preserves the output,
// 2. grow the pretrained tiny model 2× wider and check that it still says exactly what it said,
// 3. race the grown model against a randomly initialised model of the same shape, live,
// 4. run the paper's setting — a small model trained from scratch, grown, and raced — and read off the speed-up,
// 5. do the same to a GPT-2-format checkpoint of your own.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("01-hypercloning", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: a few training steps only, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. One layer by hand
//
// Take a linear layer `y = W x + b` with 3 inputs and 2 outputs, and grow both sides n = 2 times. The wide model's residual stream
// holds **n copies** of the narrow one's: `x' = [x, x]`. Tile `W` into an n × n grid of copies, **divide by n**, and tile `b`:
//
// ```
// W' = [ W/2  W/2 ]      b' = [ b ]       W' x' = [ W x/2 + W x/2 ] + b' = [ y ]
//      [ W/2  W/2 ]           [ b ]               [ W x/2 + W x/2 ]        [ y ]
// ```
//
// Each output copy sees n copies of the input, each weighted 1/n: together exactly `W x`. The bias is added once per output, so it is
// tiled but not divided. The output is again n copies of the old one, ready for the next layer.

Seeding.Everything(0);
var W = randn(2, 3);  var b = randn(2);  var x = randn(3);
var y = W.matmul(x) + b;

int n = 2;
var Wn = HyperCloning.Widen(W, outFactor: n, inFactor: n);      // tile(W, n × n) / n
var xn = x.repeat(n);                                           // n copies of the input
var yn = Wn.matmul(xn) + b.repeat(n);
var withoutDividing = W.repeat(n, n).matmul(xn) + b.repeat(n);  // what goes wrong if we forget the 1/n

display(new {
    y = y.data<float>().ToArray(),
    grown = yn.data<float>().ToArray(),
    notDivided = withoutDividing.data<float>().ToArray(),
    copiesOfY = (yn - y.repeat(n)).abs().max().item<float>() < 1e-6,
});

// Without the division each output counts the input n times (the `notDivided` values are `n·Wx + b`). With it, `grown` is `y` twice.
//
// **Layer norm** needs nothing special: the mean and the variance of `[x, x]` are those of `x`, so normalising the tiled vector gives the
// tiled normalised vector, and tiled weight and bias finish the job. **Attention** heads are duplicated whole (head h′ of the wide model
// is head h′ mod H of the narrow one), so every copy sees the same scores and the softmax gives the same weights. The **embedding** table
// is tiled without dividing (it has no widened input), and the **output head** reads a widened input, so it is divided by n; for a head
// tied to the embedding, the final layer norm's weight and bias are divided instead, which keeps the tie.

var ln = nn.LayerNorm(3);  var lnWide = nn.LayerNorm(3 * n);
using (no_grad()) { ln.weight!.normal_(); ln.bias!.normal_(); lnWide.weight!.copy_(ln.weight!.repeat(n)); lnWide.bias!.copy_(ln.bias!.repeat(n)); }
display(new {
    narrow = ln.forward(x).data<float>().ToArray(),
    wide = lnWide.forward(xn).data<float>().ToArray(),
    // LayerNorm's variance is the mean squared deviation (no n − 1 correction), written out so nothing hides it.
    sameMeanAndVariance = $"mean {x.mean().item<float>():F4} vs {xn.mean().item<float>():F4}, variance {(x - x.mean()).square().mean().item<float>():F4} vs {(xn - xn.mean()).square().mean().item<float>():F4}",
});

// ### Breaking the symmetry
//
// Exact copies receive exact copies of the gradient, so they would stay copies forever and the extra width would be wasted. HyperCloning adds
// noise to one copy of each divided block and subtracts it from the other: the sum over the copies, which is all the next layer sees of
// identical inputs, is unchanged. The noise level is a signal-to-noise ratio in dB (the paper used about 10 dB).

var noise = Seeding.Generator(1);
var noisy = HyperCloning.Widen(W, n, n, noise, snrDb: 10);     // (4, 6): 2 × 2 blocks of (2, 3)
var firstOutputCopy = noisy.narrow(0, 0, 2);
var left = firstOutputCopy.narrow(1, 0, 3);                     // sees the first copy of x
var right = firstOutputCopy.narrow(1, 3, 3);                    // sees the second copy of x
display(new {
    halfOfW = (W / n).data<float>().ToArray(),
    left = left.data<float>().ToArray(),
    right = right.data<float>().ToArray(),
    leftPlusRightIsW = (left + right - W).abs().max().item<float>() < 1e-6,
    outputChange = (noisy.matmul(xn) + b.repeat(n) - y.repeat(n)).abs().max().item<float>(),
});

// ## 2. Grow the whole pretrained model
//
// `#!model --pretrained` loads the tiny model (8 layers, width 128, 4 heads); `#!hyperclone` grows it: width 256, 8 heads of the same
// width 32, MLP 1024. The report runs both models on a probe batch and compares the logits and every layer's residual stream with n
// copies of the source's; the invariant is max |Δ| ≤ 1e-4.

// #!model --pretrained --name tiny
var tiny = PretrainedModels.LoadTinyMoby();
display(tiny);

// #!hyperclone --model tiny --factor 2 --noise-db 10 --name big --report cloneReport
var (big, cloneReport) = HyperCloning.Expand(tiny, 2, new HyperCloneOptions { NoiseSnrDb = 10 });
display(cloneReport);
CloningCharts.WeightTiling(tiny, big, "blocks.0.mlp.fc.weight").DisplayAs("text/html");

// The same in C#: `HyperCloning.Expand` returns the model and the report (the magic kept both as the variables `big` and `cloneReport`).

var (bigFromCode, reportFromCode) = HyperCloning.Expand(tiny, 2, new HyperCloneOptions { NoiseSnrDb = 10 });
display(reportFromCode);

// The weights show the construction: on the left a block of the pretrained model, on the right the same block grown. Look for the 2 × 2 grid of
// copies, each at half the strength (same colours, half the range), with the noise speckled over them.

CloningCharts.WeightTiling(tiny, big, "blocks.0.attn.q_proj.weight").DisplayAs("text/html");

// Same function means same text: greedy decoding picks the most likely byte at every step, so any difference in the logits large enough to matter
// would change the text.

var prompt = "Call me Ishmael. Some years ago";
string Greedy(TinyGpt m) => ByteTokenizer.Instance.Decode(m.Generate(ByteTokenizer.Instance.Encode(prompt), new GenerationOptions { MaxNewTokens = quick ? 60 : 200 }));
var smallText = Greedy(tiny);
var bigText = Greedy(big);
display(new { tiny = prompt + smallText, big = prompt + bigText, identical = smallText == bigText });

// ## 3. The race: the clone against random initialisation
//
// Now train the grown model and a randomly initialised model of exactly the same shape with the same budget: the same batches in the same order,
// the same learning-rate schedule and the same number of steps (`CloningRecipes.Race`). Both run side by side, one core each; the chart grows live.
// The dashed points are validation losses, measured at step 0 too, so you see where each starts.

var corpus = TextCorpus.MobyDick();
var budget = CloningRecipes.Race(quick);
var randomBig = new TinyGpt(big.Config, CloningRecipes.RandomInitSeed);
var race = TrainingRace.NewRace(big, randomBig, corpus, budget, "clone of the pretrained model", "random init");
LiveView.Follow(race);
TrainingRace.Run(big, randomBig, corpus, race);

display(race);

// The clone starts where the pretrained model ended, far below anything the random model reaches in this budget: it needs **no steps** to reach the
// random model's final loss, so the ratio is unbounded. That is the honest result at this scale: the pretrained model was trained for 1,500 steps of
// twice this batch, and no 2× wider model catches up with that in a few hundred steps on a CPU.
//
// Watch the clone's curve too. The race's learning rate (peak 2e-3, the same for both models) is far above the 3e-4 the pretrained model ended its
// own training with, and the optimizer starts with no memory of the gradients: the first steps push the copied function away from where it was.
// How much of that the extra width wins back within the budget, this run measured:

var clonePoints = race.Challenger.Evaluations;
display(new {
    startBits = Math.Round(clonePoints[0].Bits, 3),
    worstBits = Math.Round(clonePoints.Max(e => e.Bits), 3),
    worstAtStep = clonePoints.MaxBy(e => e.Bits)!.Step,
    endBits = Math.Round(clonePoints[^1].Bits, 3),
    endsBelowItsStart = clonePoints[^1].ValidationLoss < clonePoints[0].ValidationLoss,
    randomEndsAtBits = Math.Round(race.Baseline.Evaluations[^1].Bits, 3),
});

// Exercise 3 repeats the race at a gentler learning rate.
//
// ## 4. The paper's setting: a small model trained for the same budget, then grown
//
// For a fair race the random large model must be able to overtake the small one. So train a small model (the pretrained model's shape) from scratch
// for the race budget, grow it ×2, train the clone with the same budget, and compare it with the random large model above (same batches and schedule).

var smallFromScratch = new TinyGpt(tiny.Config, CloningRecipes.BriefSourceSeed);
var smallRun = LanguageModelTraining.NewRun(smallFromScratch, corpus, budget with { Steps = CloningRecipes.BriefSourceSteps(quick), EvalAtStart = true }, "small model from scratch");
LiveView.Follow(smallRun);
LanguageModelTraining.Train(smallFromScratch, corpus, smallRun);

var (grownSmall, grownReport) = HyperCloning.Expand(smallFromScratch, CloningRecipes.WidthFactor, new HyperCloneOptions { NoiseSnrDb = CloningRecipes.NoiseSnrDb });
var grownRun = LanguageModelTraining.NewRun(grownSmall, corpus, budget with { EvalAtStart = true }, "clone of the small model");
LiveView.Follow(new[] { grownRun, race.Baseline });
LanguageModelTraining.Train(grownSmall, corpus, grownRun);

var fairRace = new RaceResult(grownRun, race.Baseline);
display(fairRace);

// The speed-up counts large-model steps only, as the paper does. Counting the small model's own training too (each of its steps costs a fraction of a
// large step, by FLOPs per token) gives a stricter figure:

double costRatio = TrainingFlops.PerToken(tiny.Config) / TrainingFlops.PerToken(big.Config);
double? strict = fairRace is { BaselineSteps: double bs, ChallengerSteps: double cs } ? bs / (cs + smallRun.Steps.Count * costRatio) : null;
display(new {
    speedUp = fairRace.SpeedUp is double s ? Math.Round(s, 2) : (double?)null,
    smallStepCostInLargeSteps = Math.Round(costRatio, 3),
    speedUpCountingTheSmallModel = strict is double t ? Math.Round(t, 2) : (double?)null,
});

// `dotnet run -c Release --project benchmarks -- cloning` runs the same two races with the same settings and prints these ratios in one table.
//
// ## 5. Bring your own model
//
// `Gpt2Checkpoint` reads and writes the Hugging Face GPT-2 layout (`h.0.attn.c_attn.weight` and friends, with `config.json` for the head count), so
// anything above works on a GPT-2-style checkpoint you have on disk. Here the tiny model makes the round trip through that format, then gets grown ×3.
// (Point `path` at your own `model.safetensors`; its folder's `config.json` supplies the head count. Real GPT-2 uses the tanh GELU, which TinyGpt
// supports as `Activation = "gelu_tanh"`.)

var folder = Path.Combine(Path.GetTempPath(), "efficientml-gpt2-demo");
Directory.CreateDirectory(folder);
var path = Path.Combine(folder, "model.safetensors");
Gpt2Checkpoint.Save(tiny, path, writeConfigJson: true);
var mine = Gpt2Checkpoint.Load(path);
var (mineTimesThree, mineReport) = HyperCloning.Expand(mine, 3);
var probe = tensor(ByteTokenizer.Instance.Encode("It is not down on any map; true places never are.").Select(t => (long)t).ToArray()).unsqueeze(0);
string[] names;
using (var file = SafeTensors.Read(path)) names = file.Tensors.Keys.Take(4).ToArray();
bool roundTripExact;
using (no_grad()) roundTripExact = mine.Forward(probe).equal(tiny.Forward(probe)).all().item<bool>();
display(new {
    file = $"{new FileInfo(path).Length / 1e6:F2} MB: {string.Join(", ", names)}, …",
    roundTripExact,
    grownTimesThree = mineReport.ToString(),
});

// ## 6. Self-check
//
// Run this cell after the others: it checks what the notebook showed, with the numbers this run computed.

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
Check(Math.Abs((x - x.mean()).square().mean().item<float>() - (xn - xn.mean()).square().mean().item<float>()) < 1e-6, "the tiled vector has the variance of the original (what LayerNorm divides by)");
Check(cloneReport.PreservesFunction && cloneReport.MaxLogitDifference <= 1e-4, $"growing ×2 kept the logits (max |Δ| {cloneReport.MaxLogitDifference:G2})");
Check(smallText == bigText, "the grown model writes exactly the pretrained model's greedy text");
Check(big.ParameterCount > 3.5 * tiny.ParameterCount, $"the grown model has {big.ParameterCount / (double)tiny.ParameterCount:F1}× the parameters");
Check(race.Challenger.Evaluations[0].ValidationLoss < race.Baseline.Evaluations[0].ValidationLoss, "the clone starts far below the random model");
Check(mineReport.PreservesFunction, "a model read from the GPT-2 format grows ×3 with the same logits");
if (!quick)
{
    Check(race.ChallengerSteps is double, "the clone of the pretrained model reaches the random model's final loss");
    Check(fairRace.SpeedUp is > 1, $"the grown small model reaches the random model's final loss sooner ({fairRace.SpeedUp:F1}×)");
}

// ## Exercises
//
// 1. **No noise.** Grow `tiny` with `NoiseSnrDb = null` and race it again. Do the copies ever become different? Compare `big.blocks[0].mlp.fc.weight` halves after training.
// 2. **×3 and grouped-query attention.** Make `#!model --name gqa --layers 2 --dim 64 --heads 4 --kv-heads 2 --context 128`, grow it ×3 and check the report. Which key/value head does query head 7 of the grown model use, and why is that the right one?
// 3. **Learning rate.** Race the clone of the pretrained model at peak learning rate 3e-4 (`budget with { LearningRate = 3e-4 }`). Does the early bump disappear? What happens to the random model?
// 4. **Break it.** Skip the division in one layer (copy `HyperCloning.Widen(w, 2, 1)` into a grown model's `mlp.proj.weight` by hand). Which layers of the report's residual check go wrong first?
// 5. **Compute.** Using `TrainingFlops.PerToken`, how many small-model steps cost as much as one large-model step? Is the fair race still a win if the small model had been trained twice as long?

scriptHost.Finish();
