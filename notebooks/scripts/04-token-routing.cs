// 04 · Token-difficulty routing: DynaMoE: the notebook 04-token-routing.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/04-token-routing.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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
using TorchSharp;
using static EfficientML.Interactive.Scripting.ScriptHost;
using static TorchSharp.torch;

// # 04 · Token-difficulty routing: DynaMoE
//
// Most tokens are easy. In a dense model every token still pays for the whole MLP in every layer. **DynaMoE** turns a trained
// dense model into a **mixture of nested experts** without adding weights: sort each MLP's hidden neurons by importance, and let
// expert j be the first m_j of them (¼, ½, ¾ and all of the width) — every larger expert contains the smaller ones. A tiny
// **router** per layer reads the token's residual stream and picks an expert, trained once on **difficulty labels** that the model
// gives itself. One knob, the **sensitivity θ**, then turns the same weights into a whole family of models, from cheap to dense —
// and θ = 1 *is* the dense model: bit for bit its neuron-sorted copy, and the original up to float32 rounding (sorting
// changes the order in which each MLP's sums are added).
//
// In this notebook you will
//
// 1. build nested experts by hand in one MLP and see how much each size loses,
// 2. label tokens by how large an expert they need, and look at which characters are hard,
// 3. fine-tune the routers (and the experts, elastically) once, then sweep θ: loss against MLP compute, beside static widths,
// 4. check that routed execution really runs faster, not only on paper.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("04-token-routing", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: a few fine-tuning steps on short windows, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. Nested experts by hand, in one MLP
//
// Take block 3 of the pretrained model. Its MLP has 512 hidden neurons. Run some training text through the model and measure,
// for every neuron, how much it writes into the residual stream on average: mean |activation| × the norm of its outgoing weights.

// #!model --pretrained --name tiny
var tiny = PretrainedModels.LoadTinyMoby();
display(tiny);

var corpus = TextCorpus.MobyDick();
var calibration = RoutingExperiments.Calibration(corpus, quick);         // (16, 256) bytes of training text; (4, 64) in quick mode
var importance = NestedExperts.Importance(tiny, calibration);            // (layers, 512)
var layer3 = importance[3].sort(descending: true).Values;
display(SeriesChart.Line(layer3.data<float>().Select(v => (double)v).ToArray(), title: "Block 3: neuron importance, sorted",
    xTitle: "neuron rank", yTitle: "mean |activation| × ‖outgoing weights‖"));

// A few neurons do most of the writing. Sort the neurons by importance — permute the rows of the first matrix and the columns of
// the second — and the MLP computes the same function (only the order of a sum changes). Expert j is now simply the first m_j rows
// and columns: a **view** of the same weights, nothing copied, nothing added.

var sorted = tiny.Copy();
NestedExperts.SortNeurons(sorted, importance);
var mlp = sorted.blocks[3].mlp;
var sizes = ExpertSizes.FromFractions(512);                              // ¼, ½, ¾, 1 → 128, 256, 384, 512 neurons
Tensor input;                                                            // what block 3's MLP sees on validation text
using (var g = Seeding.Generator(1))
{
    var (x, _) = corpus.SampleBatch(Split.Validation, 4, 128, g);
    Tensor captured = null!;
    using (no_grad()) RoutedGpt.Trace(sorted, x, (l, h) => { if (l == 3) captured = h.clone(); return sorted.blocks[l].mlp.forward(h); });
    input = captured;
}
using (no_grad())
{
    var dense = mlp.forward(input);
    var unsorted = tiny.blocks[3].mlp.forward(input);
    var byHand = F(input, 256);                                          // expert ½ written out: the first 256 neurons
    Tensor F(Tensor h, int m) => nn.functional.linear(mlp.Activate(nn.functional.linear(h, mlp.fc.weight![..m], mlp.fc.bias![..m])), mlp.proj.weight![.., ..m], mlp.proj.bias);
    var errors = sizes.Neurons.Select(m => ((NestedExperts.Expert(mlp, input, m) - dense).norm() / dense.norm()).item<float>()).ToArray();
    display(new {
        sortingChangesTheMlpBy = (dense - unsorted).abs().max().item<float>(),
        halfExpertByHandVsLibrary = (byHand - NestedExperts.Expert(mlp, input, 256)).abs().max().item<float>(),
    });
    display(SeriesChart.Bars(sizes.Neurons.Select(m => $"{m} neurons").ToArray(), errors.Select(e => (double)e).ToArray(),
        title: "Block 3: relative error of each nested expert's output", yTitle: "‖expert − dense‖ / ‖dense‖"));
}

// Half the neurons already give most of the output; a quarter loses a lot. But that is an average over tokens — the point of
// routing is that *some* tokens need only the smallest expert and others need everything.
//
// ## 2. Difficulty labels
//
// `RoutedGpt.FromDense` does the above for every layer and adds an untrained router per layer. To label a token, run the model
// at each expert size (every MLP narrowed to it): the token's label is the **smallest expert whose next-token loss is within a
// tolerance** (0.1 nats) of the dense model's. Colour every character of a validation passage by its label:

var routed = RoutedGpt.FromDense(tiny, calibration, RoutingExperiments.Options, RoutingExperiments.RouterSeed);
var passage = new string(corpus.ValidationText.Where(c => c < 128).Take(256).ToArray());   // one context window; ASCII, so one byte per character
var passageIds = tensor(ByteTokenizer.Instance.Encode(passage).Select(b => (long)b).ToArray()).unsqueeze(0);
var inputs = passageIds[.., ..^1];
var targets = passageIds[.., 1..];
var labels = DifficultyLabels.Compute(routed, inputs, targets, RoutingExperiments.Options.Tolerance);   // (1, T)
display(RoutingCharts.LabelShares(DifficultyLabels.Shares(labels, sizes.Count), sizes));
RoutingCharts.TokenExperts(passage[1..], DifficultyLabels.PerLayer(labels, tiny.Config.Layers)[.., 0, ..], sizes).DisplayAs("text/html");

// The label sits on the character being *predicted*: the first letters of a word are hard (which word comes?), its last letters and
// the space after it are easy. Static widths before any fine-tuning show why routing needs training — narrowed everywhere at once,
// the experts were never trained to work alone:

var evalBatches = RoutingExperiments.EvalBatches(quick);
display(RoutingEvaluation.StaticWidths(routed, corpus, "pretrained, not fine-tuned", evalBatches));

// ## 3. Routers, one fine-tuning run, and the knob
//
// One short run trains two things at once: the **routers**, by cross-entropy against each token's current label (recomputed
// from the current weights every step; the routers learn 10× faster than the pretrained experts), and the **experts**, by the
// language-model loss of the full model plus that of the model **routed by its own routers** at a random θ — so the experts learn
// to work with the mix of widths routing produces inside one sequence.
//
// `#!route` does all of it on a copy of a model, with the live loss, then sweeps θ and shows the result. A short run first:

// #!route --model tiny --steps 12 --batch 8 --block 128 --lr 5e-4 --warmup 2 --eval-every 4 --thetas 0,0.5,0.8,1 --name tinyRouted --result shortRouting
var tinyRoutedOptions = new RoutingOptions();
var tinyRoutedTraining = QuickMode.Apply("#!route", new TrainingOptions { Steps = 12, BatchSize = 8, LearningRate = 0.0005, WarmupSteps = 2, EvalEvery = 4, EvalAtStart = true }, RoutingExperiments.FineTuning(quick: true), quick);
RoutedGpt tinyRouted;
RoutingStudy shortRouting;
using (var tinyRoutedCalibration = RoutingExperiments.Calibration(MobyDickCorpus.Get(), quick, tinyRoutedTraining.Seed))
{
    tinyRouted = RoutedGpt.FromDense(tiny, tinyRoutedCalibration, tinyRoutedOptions, tinyRoutedTraining.Seed);
    var tinyRoutedRun = LiveView.Follow(RoutingFineTuning.NewRun(tinyRouted, MobyDickCorpus.Get(), tinyRoutedTraining, $"DynaMoE routers + experts (validation at θ = 0.5)"));
    shortRouting = RoutingExperiments.Measure(tinyRouted, MobyDickCorpus.Get(), tinyRoutedOptions, tinyRoutedTraining, [0, 0.5, 0.8, 1], RoutingExperiments.EvalBatches(quick), routerFitBatches: quick ? 1 : 4, baseline: null, run: tinyRoutedRun)!;
}
display(shortRouting);

// The same in C#: `RoutingFineTuning.FineTune(routed, corpus, options, training)` trains, `RoutingEvaluation.Sweep` and
// `RoutingEvaluation.StaticWidths` measure. `RoutingExperiments.Study` runs the benchmark's settings — 100 steps of 16 × 256 bytes —
// and, as the baseline, an elastic fine-tuning **without routers** from the same start with the same budget — each step the full
// model plus one randomly drawn smaller width, every token through it: a static-width model family (Flextron-style). Each θ gives
// one routed model; each width one static model.

var (model, study) = RoutingExperiments.Study(tiny, corpus, quick, baseline: true, progress: null);
display(study);

display(RoutingCharts.Pareto(study.Routed, study.Static, study.Elastic));
var staticCurve = study.Elastic ?? study.Static;                        // the baseline's widths when it ran
var compared = study.Routed.Where(p => RoutingStudy.InterpolatedLoss(staticCurve, p.ComputeFraction) is not null).ToList();
display(SeriesChart.Bars(compared.Select(p => $"θ={p.Theta:0.0} ({p.ComputeFraction:P0})").ToArray(),
    compared.Select(p => p.ValidationBits - RoutingStudy.InterpolatedLoss(staticCurve, p.ComputeFraction)!.Value / Math.Log(2)).ToArray(),
    title: "Routed minus static widths at the same MLP compute (below 0: routing wins)", yTitle: "Δ bits per byte"));

// A routed point below the static curve (a bar below zero) is a model that is
// cheaper at the same loss; a point on the curve buys nothing over simply choosing a width. With θ the tokens that the router finds
// hard keep large experts while easy tokens drop to small ones — look at how the choice is spread over the layers at θ = 0.5 and at
// the text, coloured by the expert each character got (pick a layer in the selector):

var mid = study.Routed.OrderBy(p => Math.Abs(p.Theta!.Value - 0.5)).First();
display(RoutingCharts.ExpertUsage(mid.Usage, model.Sizes));
using (no_grad())
{
    using var output = model.Run(inputs, ExpertChoice.AtTheta(0.5));
    RoutingCharts.TokenExperts(passage[1..], output.Experts[.., 0, ..], model.Sizes).DisplayAs("text/html");
}

// ### Why routing is not free: attention sees the neighbours
//
// Suppose the router were perfect and gave every token exactly its label. Would the loss stay within the tolerance of the dense
// model's? Route the validation tokens by their own labels — an oracle no router can match, since a label is computed from the
// next token — and compare with the static widths:

var oracle = RoutingEvaluation.Oracle(model, corpus, RoutingExperiments.Options.Tolerance, evalBatches);
var nearest = study.Routed.OrderBy(p => Math.Abs(p.ComputeFraction - oracle.ComputeFraction)).First();
var compare = new[] { ("labels (oracle)", oracle), ($"routers θ={nearest.Theta:0.0}", nearest), ("static ½", study.Static[1]) };
display(SeriesChart.Bars(compare.Select(c => $"{c.Item1}, {c.Item2.ComputeFraction:P0} compute").ToArray(),
    compare.Select(c => c.Item2.ValidationBits - study.Static[^1].ValidationBits).ToArray(),
    title: "Perfect labels against the routers and a static width, at about half the MLP compute", yTitle: "bits per byte above the dense model"));

// Two things to read here. The gap between the oracle and the routed point at the same compute is what better routers could still
// win: the routers only see the text *so far*, and much of what makes the next byte hard is the byte itself. And the oracle is not
// free either: each label was measured with *every* token at the same width, but routed, a token at full width attends to keys and
// values of neighbours computed at a quarter width, so hard tokens pay for their easy neighbours. That is why the experts are
// fine-tuned on the mixes the routers produce (exercise 2 shows the oracle on weights that never saw a mix). Fine-tuning on the
// label-routed model instead would be worse than useless: the routing pattern carries the label, the label carries the next token,
// and the model learns to read it.
//
// ## 4. Does it really run faster?
//
// Routed execution groups the tokens of each layer by expert and runs every group through its expert's smaller matrices (routers,
// gather and scatter included in the time). Measured against the dense model on the same 4,096 tokens, alternating the two, at the
// cheapest θ whose loss is within 2% of the dense model's:

var target = study.CheapestWithin(0.02) ?? study.Routed[^1];
var speed = RoutingExperiments.Speed(model, corpus, target.Theta!.Value, quick);
display(new { theta = target.Theta, lossVsDense = (target.ValidationLoss / study.DenseLoss - 1).ToString("+0.0%;-0.0%"),
              compute = target.ComputeFraction.ToString("P1"), activeNeurons = speed.ActiveFraction.ToString("P1"),
              mlpSpeedUp = Math.Round(speed.MlpSpeedUp, 2), forwardSpeedUp = Math.Round(speed.ForwardSpeedUp, 2) });
display(SeriesChart.Bars(["dense MLPs", "routed MLPs", "dense forward", "routed forward"],
    new[] { speed.DenseMlpMs, speed.RoutedMlpMs, speed.DenseForwardMs, speed.RoutedForwardMs }, title: $"Wall-clock at θ = {target.Theta:0.0} ({speed.Tokens} tokens)", yTitle: "ms (median)"));

// ## 5. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
using (no_grad())
{
    var probe = inputs[.., ..64];
    using var atOne = model.Run(probe, ExpertChoice.AtTheta(1));
    Check(atOne.Logits.equal(model.model.Forward(probe)).all().item<bool>(), "θ = 1 reproduces the (neuron-sorted) dense model bit for bit");
    var experts = randint(0, model.Sizes.Count, [model.Config.Layers, 1, 64], dtype: ScalarType.Int64);
    using var grouped = model.Run(probe, new ExpertChoice.Given(experts), RoutedExecution.Grouped);
    using var masked = model.Run(probe, new ExpertChoice.Given(experts), RoutedExecution.Masked);
    Check((grouped.Logits - masked.Logits).abs().max().item<float>() < 1e-4, "grouped execution equals the masked reference");
}
Check(study.Routed.Select(p => p.ComputeFraction).Zip(study.Routed.Skip(1).Select(p => p.ComputeFraction)).All(p => p.Item1 <= p.Item2 + 1e-9),
      "larger θ never uses less compute");
Check(study.RouterFitAfter.CrossEntropy < study.RouterFitBefore.CrossEntropy, $"fine-tuning taught the routers the labels ({study.RouterFitBefore.CrossEntropy:F2} → {study.RouterFitAfter.CrossEntropy:F2} nats)");
if (!quick)
{
    var within = study.CheapestWithin(0.02);
    Check(within is not null && within.ComputeFraction < 0.9, $"a routed variant within 2% of the dense loss uses {within?.ComputeFraction:P0} of the dense MLP compute");
}

// ## Exercises
//
// 1. **Tolerance.** Relabel the passage with tolerance 0.02 and 0.3. How do the label shares move? Fine-tune with each
//    (`#!route --tolerance …`) and compare the Pareto curves.
// 2. **Expert training.** `RoutingOptions.ExpertTraining` can also be `Elastic` (the full model plus one random static width per
//    step, as the baseline trains) or `None` (only the routers learn). Fine-tune with each (`RoutingExperiments.Study(tiny, corpus,
//    quick, options: RoutingExperiments.Options with { ExpertTraining = … })`) and compare the routed curves with the static one.
//    Run `RoutingEvaluation.Oracle` on each: how much does routing by perfect labels lose when the experts never saw a mix of widths?
// 3. **Linear routers.** `#!route --router-hidden 0` uses one linear map per layer. What does it cost in label accuracy and in loss?
// 4. **Sizes.** Try experts at ⅛, ¼, ½, 1 (`--experts 0.125,0.25,0.5,1`). Does a smaller smallest expert pay off?
// 5. **Where are the hard tokens?** Colour a passage of dialogue and one of description; which needs more compute per character?

scriptHost.Finish();
