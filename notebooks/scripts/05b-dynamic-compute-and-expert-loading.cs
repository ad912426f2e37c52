// 05b · Dynamic compute and ahead-of-time expert loading: the notebook 05b-dynamic-compute-and-expert-loading.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/05b-dynamic-compute-and-expert-loading.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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
using EfficientML.Speculative.ExpertPrefetch;
using EfficientML.Speculative;
using EfficientML.Text;
using TorchSharp;
using static EfficientML.Interactive.Scripting.ScriptHost;
using static TorchSharp.torch;

// # 05b · Dynamic compute and ahead-of-time expert loading
//
// Notebook 05 made decoding cheaper *without changing the text*: the early layers draft, the full model verifies. This notebook
// takes the two ideas of the M2R2 paper that trade a little of the text for compute, or hide the cost of a large model's memory:
//
// 1. **dynamic compute**: each token leaves the model at the first layer where an exit rule says the answer is settled — a plain
//    confidence threshold, or M2R2's exit predictor reading the fast residual stream — and we measure agreement and loss against
//    the layers saved;
// 2. **ahead-of-time expert loading**: in a mixture-of-experts model whose experts live in slow memory, an early layer's state
//    predicts which experts the later layers will need, so their copies start before they are needed; a simulated two-tier
//    memory shows how much of the stall that hides.
//
// It stands on notebook 05 (the residual streams and the accelerators) and notebook 04 (nested experts and routers).

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("05b-dynamic-compute-and-expert-loading", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: a few training steps and short generations, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// The pretrained tiny model and the text, as in notebook 05:

// #!model --pretrained --name tiny
var tiny = PretrainedModels.LoadTinyMoby();
display(tiny);

var corpus = TextCorpus.MobyDick();

// ## 1. Dynamic compute: exit without verification
//
// Drop the verification and let each token leave at the first layer where an exit rule fires. The text now changes, so the
// question is how much agreement and loss it costs per layer saved. Two rules:
//
// * **distance-based early exit** (the baseline): exit when the shared head's top probability on the slow state reaches a threshold;
// * **M2R2**: an **exit predictor** — a small head per layer reading the fast state — trained to predict whether the early
//   prediction equals the full model's.
//
// A token that exits keeps its (slow) state, and deeper layers compute its keys and values from that state, so later tokens can
// still attend to it.

// Accelerators for every exit and an exit predictor on their fast states are trained first; then both rules run at each threshold.
// Step by step: AcceleratorTraining.Train, ExitPredictor.Train, DynamicCompute.EarlyExit and DynamicCompute.M2R2.
var dynamic = SpeculativeExperiments.DynamicCompute(tiny, corpus, quick);
display(dynamic.Points);

// Compare the curves at equal layers used: the point of the fast stream is that an early exit *predicts better*, so at the same
// compute the M2R2 curve sits higher in agreement and lower in loss.
//
// ## 2. Ahead-of-time expert loading
//
// A mixture-of-experts model is often too large for the fast memory next to the compute: experts live in a slow tier and are
// copied in when a token needs them, and the copy stalls decoding. If the state at an **early** layer already tells which experts
// the **later** layers will pick, the copies can start early and overlap the compute of the layers in between.
//
// We take notebook 04's DynaMoE model (the pretrained model's MLPs as nested experts with token-difficulty routers, fine-tuned as
// there), train a small predictor that reads the state after layer 2 and names the expert of every later block — once from the
// slow state, once from the M2R2 fast state — and replay validation tokens through a simulated two-tier memory: a fast cache
// holding a few experts (least recently used out), a slow tier 5× slower to read, one copy channel. On demand, a block stalls for
// whatever it misses; ahead of time, the predicted experts are queued as soon as layer 2 is done; the oracle queues the true ones.

var aot = ExpertPrefetchStudy.Run(tiny, corpus, quick, stage: s => Console.WriteLine(s))!;
Console.WriteLine();
Console.WriteLine($"{$"experts of blocks {aot.Settings.FromLayer}..{tiny.Config.Layers - 1} named by",-34} {"exactly",8} {"large enough to serve",22}");
foreach (var a in aot.Accuracy)
    Console.WriteLine($"{a.Name,-34} {a.MeanExact,8:P1} {a.MeanCovering,22:P1}");

var policies = aot.Rows[0].Policies.Select(p => p.Policy).ToList();
Series Curve(string policy, Func<ExpertPrefetchRow, ExpertCacheResult, double> y) => new(policy,
    aot.Rows.Select(r => (double)r.CacheExperts).ToList(),
    aot.Rows.Select(r => y(r, r.Policies.First(p => p.Policy == policy))).ToList());
display(SeriesChart.Lines(policies.Select(p => Curve(p, (r, x) => x.SpeedUpOver(r.OnDemand))),
    title: "Modelled decoding speed-up over on-demand loading", xTitle: "fast cache size (full experts)", yTitle: "× on demand", markers: true));
display(SeriesChart.Lines(policies.Select(p => Curve(p, (r, x) => 100 * x.HitRate)),
    title: "Requests served without an on-demand load", xTitle: "fast cache size (full experts)", yTitle: "hit rate (%)", markers: true));

// Predicting later experts from layer 2 is easy to do well — far better than guessing the most frequent expert. But the modelled
// speed-up stays small, whichever state the predictor reads: loading ahead only *overlaps* copies with compute, it does not make
// them fewer, and when the cache is too small for a token's working set every token copies nearly all of it again. The paper's
// 2.9× comes from models whose experts are far larger than the compute between layers can hide; change `LoadTimePerNeuron` and
// `AttentionTime` in `ExpertLoadCosts` (`ExpertPrefetchStudy.Simulate(aot.Traces, new[] { 1, 2, 3, 4 }, costs)`) to see where
// ahead-of-time loading starts to pay.
//
// ## 3. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
var points = dynamic.Points;
Check(points.All(p => p.ComputeShare is > 0 and <= 1.0 + 1e-9), "every exit rule uses between none and all of the layers");
Check(points.Where(p => p.Method.StartsWith("M2R2")).Any() && points.Where(p => !p.Method.StartsWith("M2R2")).Any(), "both rules were measured");
Check(aot.Accuracy.First(a => a.Name.StartsWith("slow")).MeanExact > aot.Accuracy.First(a => a.Name.StartsWith("most")).MeanExact,
      "the layer-2 state names later experts better than always guessing the most frequent one");
Check(aot.Rows.All(r => r.Policies.All(p => p.HitRate is >= 0 and <= 1)), "every simulated hit rate is a share");

// ## Exercises
//
// 1. **Thresholds.** Add thresholds between 0.95 and 0.99 to the distance rule (`DynamicCompute.EarlyExit`) and find the one that
//    keeps 99 % agreement. How many layers does it save?
// 2. **Which state?** Train the expert predictor on the state after layer 1 and after layer 3 (`ExpertPrefetchSettings.FromLayer`).
//    Does prediction get better faster than the time left for the copies shrinks?
// 3. **When does loading ahead pay?** Raise `LoadTimePerNeuron` in `ExpertLoadCosts` until the on-demand stalls dominate; where does
//    ahead-of-time loading reach 2× over on-demand?

scriptHost.Finish();
