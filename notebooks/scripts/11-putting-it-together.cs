// 11 · Putting it together: one model through every technique: the notebook 11-putting-it-together.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/11-putting-it-together.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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

// # 11 · Putting it together: one model through every technique
//
// Each notebook so far took one technique on its own to the pretrained tiny model. A real deployment takes **one** model through
// several of them, and the interesting questions live where they meet: does a model grown by HyperCloning still accept the drafts
// of the model it came from once it has trained? Do routers still pick the same experts after the weights are clustered? Does a
// routed, clustered target still accept the same drafts?
//
// Here the pretrained model goes through a whole pipeline, one step at a time, and after **every** step the same things are
// measured on the same validation windows and the same prompts:
//
// - **quality**: validation bits per byte (a routed model at the θ it runs at);
// - **size**: bytes of every file the deployed model needs (weights or palettes, routers, the draft or the accelerators it decodes
//   with), and its parameters;
// - **memory**: the most resident memory the process held while the step ran;
// - **compute**: MLP multiply-adds per token;
// - **speed**: decoding tokens per second, as a ratio to plain decoding of the pretrained model, timed alternately with it in the
//   same measurement (so a busy machine slows both alike);
// - **cost**: the step's own time and the tokens it trained on.
//
// Each step also re-checks its technique's **invariant** on the composed model — not on a fresh pretrained one.
//
// | step | technique | taught in | invariant re-checked here |
// |---|---|---|---|
// | `grow` | HyperCloning ×2 | [01](01-hypercloning.ipynb) | the grown model computes the same function |
// | `train` | brief training | [01](01-hypercloning.ipynb) | the loss stays finite |
// | `draft` | subcloning a small draft model | [02](02-subcloning.ipynb) | subcloning that keeps every unit gives the target back exactly |
// | `route` | DynaMoE nested experts and routers | [04](04-token-routing.ipynb) | θ = 1 equals the dense model bit for bit; compute grows with θ |
// | `cluster` | DKM/eDKM clustering, palettes | [03](03-weight-clustering.ipynb) | at most 2^bits distinct values per layer; palettes decode exactly |
// | `decode` | M2R2 and two-model speculation | [05](05-speculative-decoding.ipynb) | every speculative output equals plain greedy decoding |
// | `export` | ONNX Runtime | [03](03-weight-clustering.ipynb) | ONNX logits and greedy text equal TorchSharp's |

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("11-putting-it-together", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: every step shrunk to a few training steps and tokens, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. The plan, and the orders that cannot work
//
// A pipeline is a list of named steps. Each step is a plain function from the model's state (the dense target, and whatever
// the steps before added: a draft model, routers at a θ, palettes, accelerators, an exported file) to a new state; the pipeline
// measures the state after it. Some orders cannot work, and the pipeline refuses them **before** doing any work, with the reason:

// #!model --pretrained --name tiny
var tiny = PretrainedModels.LoadTinyMoby();
display(tiny);

var corpus = TextCorpus.MobyDick();
display(PipelineOrder.Rules);
using (var trial = new DeploymentPipeline(tiny, corpus, PipelineOptions.For(quick)))
{
    try { trial.Run(["grow", "train", "cluster", "grow"]); }
    catch (InvalidSettingsException e) { Console.WriteLine(e.Message); }
    try { trial.Run(["cluster", "train"]); }
    catch (InvalidSettingsException e) { Console.WriteLine(e.Message); }
    Console.WriteLine($"steps run: {trial.State.Done.Count}, measurements: {trial.Measurements.Count}");
}

// Growing after clustering would scale every palette entry and throw the clustering fine-tune away; training after clustering
// would move the weights off their palettes. The table names every pair that cannot work; any other order can run, any step
// can be left out, and your own function can be a step (`new PipelineStep(name, title, notebook, (state, context) => …)`).
//
// ## 2. Grow, then train briefly
//
// HyperCloning copies every weight into a model twice as wide so that it computes **the same function** (notebook 01): the first
// row of the table below is the pretrained model, the second the grown one, with the same bits per byte and four times the MLP
// compute. A little noise that sums to zero over the copies lets training tell them apart without changing the function. Then a
// brief training run, live. `#!pipeline` keeps the pipeline under `--name`, so the next cells resume it step by step; its chart
// gains a point as each step finishes. The settings of later steps are fixed when the pipeline starts (here: grow ×2, a 2 % loss
// budget for routing, 4-bit palettes), so every step of one pipeline belongs to one recipe.

// #!pipeline --from tiny --name capstone --steps grow,train --grow 2 --budget 0.02 --bits 4
var capstone = new DeploymentPipeline(tiny, MobyDickCorpus.Get(), PipelineOptions.For(quick) with { GrowFactor = 2, Bits = 4, LossBudget = 0.02 });
capstone.Run(["grow", "train"], progress: LiveView.Following(everyRun: true));
var capstone_model = capstone.State.Target.Copy();
display(capstone);

// The same in C#: `var capstone = new DeploymentPipeline(tiny, corpus, PipelineOptions.For(quick)); capstone.Run(["grow", "train"]);`
// — and `capstone.Run(["draft"])` resumes it, as the magic's `--resume` does.
//
// Before training, the pretrained model is a perfect draft for its clone: both compute the same function, so real greedy
// speculative decoding accepts every draft. How much of that survives the brief training?

var fromStart = capstone.Interactions.DraftFits.Where(f => f.Drafter == "start model").ToList();
display(fromStart);
var (before, after) = (fromStart.First(), fromStart.Last());
Console.WriteLine($"The pretrained model's drafts: {before.AcceptanceRate:P0} accepted before training, {after.AcceptanceRate:P0} after; " +
                  $"greedy agreement on validation text {before.Agreement:P0} → {after.Agreement:P0}.");

// ## 3. A small draft model from the grown one
//
// Subcloning (notebook 02) keeps the most important residual dimensions, heads and neurons and the first layers, so the draft
// starts with the target's knowledge rather than from random weights; then it trains briefly on the same text. The step first
// re-checks the technique's invariant on the composed model: a subclone that keeps every unit is the target, bit for bit.

// #!pipeline --name capstone --resume --steps draft
capstone.Run(["draft"], progress: LiveView.Following(everyRun: true));
capstone_model = capstone.State.Target.Copy();
display(capstone);

// ## 4. Route: nested experts, and θ picked by a loss budget
//
// DynaMoE (notebook 04) sorts each MLP's neurons by importance so the first ¼, ½, ¾ of them are smaller experts inside the same
// weights, adds a router per layer, and fine-tunes routers and experts together. The step sweeps θ and keeps the **cheapest θ
// whose validation loss is within the budget** (`--budget 0.02` above: 2 %) of the dense model's. θ = 1 must still be the dense
// model, bit for bit.

// #!pipeline --name capstone --resume --steps route
capstone.Run(["route"], progress: LiveView.Following(everyRun: true));
capstone_model = capstone.State.Target.Copy();
display(capstone);

var routing = capstone.Interactions.Routing;
var picked = routing.Sweep.First(p => p.Theta == routing.Theta);
display(SeriesChart.Lines([
        new Series("routed, by θ", routing.Sweep.Select(p => p.ComputeFraction).ToList(), routing.Sweep.Select(p => p.ValidationBits).ToList()),
        new Series("budget", [0, 1.05], [routing.Dense.ValidationBits * (1 + routing.LossBudget), routing.Dense.ValidationBits * (1 + routing.LossBudget)]),
        new Series($"picked θ = {routing.Theta:0.##}", [picked.ComputeFraction], [picked.ValidationBits]),
    ], title: "The θ sweep of the grown model and the loss budget", xTitle: "MLP compute (share of dense, routers included)",
    yTitle: "validation bits per byte", markers: true));
Console.WriteLine($"θ = {routing.Theta:0.##}: {picked.ComputeFraction:P0} of the dense MLP compute at {picked.ValidationLoss / routing.Dense.ValidationLoss - 1:+0.0%;-0.0%} loss against dense.");

// Where the draft model comes in: the routed target's greedy choices are not quite the dense target's, so its drafts agree
// less or more often. A routed model has no KV-cache decoding path here, so the table can only give the agreement on
// validation text, not real acceptance:

display(capstone.Interactions.DraftFits.Where(f => f.Question.Contains("routing") || f.Question.Contains("routed")));

// ## 5. Cluster to 4 bits, and palettise
//
// DKM (notebook 03) fine-tunes with every linear layer's weights softly assigned to 2^bits centroids, with eDKM's storage so the
// soft assignments take less memory; then the hard assignment is written in and each layer is stored as a table of 16 values
// plus 4-bit indices. Outside quick mode the step also runs the same recipe at 3 bits on a copy, for comparison. The routers
// stay and now read clustered activations. Do they still pick the same experts?

// #!pipeline --name capstone --resume --steps cluster
capstone.Run(["cluster"], progress: LiveView.Following(everyRun: true));
capstone_model = capstone.State.Target.Copy();
display(capstone);

var moved = capstone.Interactions.RoutersUnderClustering;
display(moved);
if (capstone.Interactions.BitWidths.Count > 0) display(capstone.Interactions.BitWidths);   // the same recipe at 3 bits on a copy (not in quick mode)
Console.WriteLine($"After clustering, {moved.SameExpertShare:P1} of the routers' (token, layer) choices stayed on the same expert; " +
                  $"bits per byte at θ = {moved.Theta:0.##} went {moved.BitsBefore:0.000} → {moved.BitsAfter:0.000}.");

// ## 6. Decode fast, and losslessly
//
// The step trains M2R2 accelerators so the target's own first half can draft for it (notebook 05), then races plain greedy
// decoding against each drafter on the same prompts: M2R2, the subcloned draft model, and the pretrained model we started from
// (it computes what the grown model computed before training). Every output must equal plain greedy decoding token for token;
// the fastest lossless drafter becomes the model's decoder, and only if it beats plain decoding.

// #!pipeline --name capstone --resume --steps decode
capstone.Run(["decode"], progress: LiveView.Following(everyRun: true));
capstone_model = capstone.State.Target.Copy();
display(capstone);

// Decoding runs the target's dense weights: routed blocks have no KV-cache path in this library, so routing's saving shows in
// the MLP compute column and not in tokens per second. The whole-window forward pass of notebook 04 is where it is timed.
//
// ## 7. Export
//
// The last step writes the palettised model to ONNX and checks ONNX Runtime against TorchSharp. Not everything can go: the step
// says what it left out and why.

// #!pipeline --name capstone --resume --steps export
capstone.Run(["export"], progress: LiveView.Following(everyRun: true));
capstone_model = capstone.State.Target.Copy();
display(capstone);

foreach (var note in capstone.Measurements[^1].Notes) Console.WriteLine("• " + note);

// ## 8. The whole path
//
// Quality against speed, one point per step, its area proportional to the bytes on disk. Down is better, right is faster; the
// line follows the order of the steps.

display(PipelineCharts.Pareto(capstone.Measurements));
display(capstone.Card());

// Read the path as a set of trades, step against the step before it:

display(StepTrade.Between(capstone.Measurements));

// Growing multiplies the compute per token and, on its own, buys nothing until the model trains; routing gives MLP compute
// back at a loss you chose; clustering divides the bytes; speculative decoding buys speed without changing one output token,
// but the draft it decodes with counts in the bytes. The benchmark (`dotnet run -c Release --project benchmarks -- pipeline`)
// runs the same pipeline with the full budget; every figure above is this run's, on this machine.
//
// ## 9. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
foreach (var m in capstone.Measurements)
    foreach (var i in m.Invariants)
        Check(i.Passed, $"{m.Step}: {i.Name} ({i.Detail})");
var state = capstone.State;
var probe = tensor(corpus.Tokenizer.Encode(corpus.ValidationExcerpt(1000, 64)).Select(t => (long)t).ToArray()).unsqueeze(0);
using (no_grad())
{
    using var atOne = state.Routed!.Run(probe, ExpertChoice.AtTheta(1));
    Check(atOne.Logits.equal(state.Target.Forward(probe)).all().item<bool>(), "θ = 1 of the composed model equals its dense weights, re-checked here");
}
int k = 1 << capstone.Options.Bits;
Check(state.Palettized!.Palettes.Keys.All(name => { using var w = state.Palettized.Weight(name); return w.unique().output.numel() <= k; }),
      $"every palettised table holds at most {k} values");
var prompt = corpus.Tokenizer.Encode("Call me Ishmael.");
var plain = state.Target.Generate(prompt, new GenerationOptions { MaxNewTokens = 40 });
var speculative = state.Decoder is null ? plain
    : new SpeculativeDecoder(state.Target, state.Decoder).Generate(prompt, new SpeculationOptions { MaxNewTokens = 40, Gamma = capstone.Options.Gamma }).Tokens;
Check(speculative.SequenceEqual(plain), $"the composed model's decoder ({state.DecoderName}) gives plain greedy decoding's text");
Check(capstone.Measurements.Single(m => m.Step == "grow").ValidationBits - capstone.Measurements[0].ValidationBits is > -1e-3 and < 1e-3,
      "the grown model scored what the pretrained model scored, before training");
Check(capstone.Measurements.Single(m => m.Step == "cluster").DiskBytes < capstone.Measurements.Single(m => m.Step == "route").DiskBytes / 4,
      "palettes cut the bytes on disk by more than 4×");

// ## Exercises
//
// 1. **Reorder.** Run a new pipeline with `--steps grow,train,route,draft,cluster,decode,export`: the draft is now subcloned from
//    the routed model's dense weights. Does it fit the routed target better? Then try `--steps grow,cluster,train` and read the
//    message.
// 2. **The loss budget.** Rerun with `--budget 0` and `--budget 0.05`. How do θ, the MLP compute and bits per byte move, and does
//    clustering move the routers' choices more when θ is small?
// 3. **Grow more, or not at all.** Try `--grow 4`, and `--skip grow`. With no growth, which drafter wins the race, and why does
//    the pretrained model no longer appear in it?
// 4. **Fewer bits.** `--bits 3` and `--bits 2`: where does quality break, and do the routers notice before the bits per byte do?
// 5. **Your own step.** Write a step that trains the draft model longer, or distils it on the target's logits, and put it before
//    `decode` with `capstone.Run([new PipelineStep(…)])`. How much acceptance does it buy?

scriptHost.Finish();
