// 05 · Speculative decoding: M2R2 multi-rate residuals and early exit: the notebook 05-speculative-decoding.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/05-speculative-decoding.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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

// # 05 · Speculative decoding: M2R2 multi-rate residuals and early exit
//
// A language model writes one token per full pass through all its layers. But many tokens are easy: an early layer often
// already "knows" the answer. Two ideas use that:
//
// * **Early exit** stops at layer k and reads the answer there with the shared output head. Cheap, but the text changes.
// * **Self-speculative decoding** lets the first k layers *draft* γ tokens, then the full model checks all of them in **one**
//   pass over its KV cache and keeps the longest agreeing prefix plus its own next token. The output is **exactly** what plain
//   greedy decoding writes — only the cost changes.
//
// **M2R2** (Mixture of Multi-rate Residuals) makes the early layers better drafters: small **accelerator adapters** add a *fast*
// residual stream beside the model's own (*slow*) one, trained so that the fast state at layer k already lies where the last layer
// will end. The fast stream reuses the slow stream's keys and values, so drafter and verifier share one KV cache.
//
// In this notebook you will
//
// 1. watch the residual stream drift toward its final state, layer by layer,
// 2. draft and verify one round by hand, with the cache rolled back past the rejection,
// 3. train accelerators and see the early layers catch up,
// 4. decode with the model drafting for itself — greedy and sampling — and prove the text is unchanged,
// 5. race plain decoding, early-exit drafting, M2R2 drafting and a separate small draft model, and explain the measured speed with
//    the arithmetic of speculation.
//
// Notebook 05b continues with the paper's two other uses of the fast stream: tokens that exit early without verification, and
// experts predicted ahead of time.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("05-speculative-decoding", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: a few training steps and short generations, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. The residual stream, layer by layer
//
// Every block adds its update to the residual stream: h₀ (the embeddings), h₁, …, h₈ (the last layer's state, which the head
// reads). Apply the final norm and head to an *intermediate* state h_j and you get layer j's opinion. Two ways to see how far a
// layer is from the end, on validation text:
//
// * **agreement**: how often layer j's top token equals the final layer's,
// * **distance**: ‖h_j − h₈‖ / ‖h₈‖.

// #!model --pretrained --name tiny
var tiny = PretrainedModels.LoadTinyMoby();
display(tiny);

var corpus = TextCorpus.MobyDick();
var tokenizer = corpus.Tokenizer;
var slowProfile = LayerAnalysis.Measure(tiny, corpus, batches: quick ? 1 : 4);
display(slowProfile);

// Agreement grows slowly through the first half and only passes 50 % around layer 5: a plain early exit at layer 4 would get
// more than half of the tokens wrong. The distance barely shrinks before layer 5 — the early states are not *on the way* to the
// final one, they point elsewhere.
//
// ## 2. One speculative round, by hand
//
// Draft with the first k = 4 blocks. Each draft token goes through those 4 blocks only, writing their keys and values into the
// **same** cache the full model uses. Then the full model verifies all drafts at once: the deep blocks 4…7 run on the drafts'
// layer-4 states in one pass. Where the full model's top token differs from the draft, everything after is thrown away and the
// cache is **rolled back** — in O(1), by shortening its length.

int k = SpeculativeExperiments.ExitLayer, gamma = 3;
string Show(IEnumerable<int> tokens) => "«" + tokenizer.Decode(tokens.ToArray()) + "»";
var prompt = tokenizer.Encode("It was the best of times, it was the worst of");
var cache = tiny.CreateCache();
var drafts = new List<int>();
var states = new List<Tensor>();
using (no_grad())
{
    tiny.Hidden(tensor(prompt[..^1].Select(t => (long)t).ToArray()).unsqueeze(0), cache);      // prefill: all but the last prompt token
    int next = prompt[^1];
    for (int i = 0; i < gamma; i++)
    {
        var h = tiny.Hidden(tensor(new long[] { next }).unsqueeze(0), cache, exitAfter: k);    // only blocks 0..k-1
        states.Add(h);
        next = (int)tiny.Logits(h)[0, -1].argmax().item<long>();                              // shared head on the early state
        drafts.Add(next);
    }
    // The last draft goes through the first k blocks too; then blocks k..7 verify every position in one pass.
    states.Add(tiny.Hidden(tensor(new long[] { drafts[^1] }).unsqueeze(0), cache, exitAfter: k));
    int start = cache.LayerLength(k);
    var verified = tiny.Logits(tiny.RunLayers(cat(states, 1), cache, k, tiny.Config.Layers, start))[0].argmax(-1);
    var choice = verified.data<long>().Select(t => (int)t).ToArray();
    int accepted = 0;
    while (accepted < gamma && drafts[accepted] == choice[accepted]) accepted++;
    int before = cache.Length;
    cache.Rollback(prompt.Length + accepted);          // keep the prompt and the accepted drafts; the emitted token is fed next round
    Console.WriteLine($"prompt           {Show(prompt)}");
    Console.WriteLine($"drafts (layer {k})  {string.Join(" ", drafts.Select(t => Show(new[] { t })))}");
    Console.WriteLine($"full model says  {string.Join(" ", choice.Select(t => Show(new[] { t })))}   (after the last token and after each draft)");
    Console.WriteLine($"accepted         {accepted} of {gamma}; emitted {Show(drafts.Take(accepted).Append(choice[accepted]))}");
    Console.WriteLine($"cache            {before} positions → rolled back to {cache.Length}");
}

// Whatever the drafts are, every emitted token is the full model's own choice given the text before it: the agreeing prefix was
// checked, and the token after it *is* the full model's. That is why greedy speculative decoding cannot change the text.
// `SpeculativeDecoder` does exactly these steps in a loop (and slides the context window the way plain decoding does).
//
// ## 3. Accelerators: a fast residual stream
//
// The fast stream is f_j = h_j + Σ_{i<j} A_i(h_{i+1}), where each accelerator A_i is a low-rank MLP (norm → 128×64 → GELU →
// 64×128, zero at the start) that reads the slow state after block i. Training keeps the model frozen and pulls the fast state at
// layer k toward the final layer: KL divergence to the final prediction plus a small distance term. The fast stream needs no
// attention of its own — the slow stream's keys and values serve both.

var (adapters, acceleratorRun) = SpeculativeExperiments.Accelerators(tiny, corpus, quick);
display($"{adapters.ParametersUpTo(k):N0} accelerator parameters for k = {k} (the model has {tiny.ParameterCount:N0})");
display(LossChart.Of(acceleratorRun));

var profile = LayerAnalysis.Measure(tiny, corpus, adapters, batches: quick ? 1 : 4);
display(SpeculativeCharts.LayerProfile(profile));

// The accelerators were trained for layer 4 only, so the fast curve jumps there (and the layers before it improve on the way).
// Agreement at layer 4 is now what the slow stream reaches only around layer 5–6.
//
// ## 4. The model drafts for itself
//
// `#!speculate` runs plain greedy decoding and speculative decoding on the same prompt and colours every token: an **accepted**
// draft, a **corrected** token (the full model's choice where a draft was rejected), or a **bonus** token (the full model's next
// token after a fully accepted round). It checks that the two texts are identical.

// #!speculate --model tiny --k 4 --gamma 3 --tokens 160 --prompt "Call me Ishmael. Some years ago" --name speculation
var tiny_adapters_k4 = AcceleratorAdapters.For(tiny, 4, Math.Min(SpeculativeExperiments.Rank, tiny.Config.Dim));
var tiny_adapters_k4Training = QuickMode.Apply("#!speculate", SpeculativeExperiments.AcceleratorTraining(quick: false) with { EvalAtStart = true, Steps = 600, BlockSize = Math.Min(SpeculativeExperiments.AcceleratorTraining(quick: false).BlockSize, tiny.Config.ContextLength), WarmupSteps = Math.Min(SpeculativeExperiments.AcceleratorTraining(quick: false).WarmupSteps, 600 / 10) }, SpeculativeExperiments.AcceleratorTraining(quick: true) with { EvalAtStart = true }, quick);
var tiny_adapters_k4Run = AcceleratorTraining.Train(tiny, tiny_adapters_k4, MobyDickCorpus.Get(), tiny_adapters_k4Training, new AcceleratorOptions { Exits = [4] }, LiveView.Following());
tiny_adapters_k4Run.ThrowIfDiverged();
display(tiny_adapters_k4Run);
var speculation = new SpeculativeDecoder(tiny, new SelfDrafter(4, tiny_adapters_k4))
    .Generate(MobyDickCorpus.Get().Tokenizer.Encode("Call me Ishmael. Some years ago"), new SpeculationOptions { MaxNewTokens = 160, Gamma = 3 });
display(speculation);

// The same in C#: a `SelfDrafter` (with the accelerators: M2R2; without: early exit) and a `SpeculativeDecoder`.

var ishmaelText = "Call me Ishmael. Some years ago";
var ishmael = tokenizer.Encode(ishmaelText);
int newTokens = quick ? 40 : 160;
var plainText = tiny.Generate(ishmael, new GenerationOptions { MaxNewTokens = newTokens });
var m2r2 = new SpeculativeDecoder(tiny, new SelfDrafter(k, adapters))
    .Generate(ishmael, new SpeculationOptions { MaxNewTokens = newTokens, Gamma = gamma });
var early = new SpeculativeDecoder(tiny, new SelfDrafter(k))
    .Generate(ishmael, new SpeculationOptions { MaxNewTokens = newTokens, Gamma = gamma });
display(new { m2r2SameAsPlain = m2r2.Tokens.SequenceEqual(plainText), earlySameAsPlain = early.Tokens.SequenceEqual(plainText) });
display(m2r2);

display(SpeculativeCharts.AcceptanceByPosition(early, m2r2));

// Acceptance falls with the draft position because a draft only counts once every draft before it was accepted. The
// accelerators raise acceptance at every position.
//
// **Sampling.** With a temperature, greedy agreement is not the right test any more: the drafter *samples* x from its
// distribution q, and the verifier accepts it with probability min(1, p(x)/q(x)); at the first rejection it draws from the
// leftover max(0, p − q), normalised. The emitted tokens then follow the full model's distribution p *exactly* (the tests count
// this on a tiny vocabulary with a χ² test). Adaptive γ grows the draft after a fully accepted round and shrinks it after a
// rejection.

var sampled = new SpeculativeDecoder(tiny, new SelfDrafter(k, adapters)).Generate(ishmael,
    new SpeculationOptions { MaxNewTokens = newTokens, Gamma = 2, AdaptiveGamma = true, MaxGamma = 6, Temperature = 0.8, Seed = 3 });
SpeculativeCharts.TokenStream(sampled, tokenizer, ishmaelText).DisplayAs("text/html");
display(sampled.ToString());

// ## 5. The race, and why the speed is what it is
//
// Same prompts, same γ, batch 1: plain cached greedy decoding against three drafters — early exit at layer 4, M2R2 at layer 4,
// and a separate small draft model (the pretrained model subcloned to 2 layers of width 64, then trained on the same text).
// Every repeat runs all methods in turn, so machine noise hits all alike; the speed-up is the median per-repeat ratio.

var (draftModel, draftRun) = SpeculativeExperiments.DraftModel(tiny, corpus, quick);
display($"draft model: {draftModel.ParameterCount:N0} parameters, validation {draftRun.LastValidationLoss / Math.Log(2):F3} bits/byte");
var race = SpeculativeExperiments.Race(tiny,
    new Drafter[] { new SelfDrafter(k), new SelfDrafter(k, adapters), new ModelDrafter(draftModel) },
    SpeculativeExperiments.Prompts(corpus, quick ? 2 : 4),
    new SpeculationOptions { MaxNewTokens = SpeculativeExperiments.RaceTokens(quick), Gamma = gamma }, repeats: quick ? 1 : 3);
display(SpeculativeCharts.Race(race));
foreach (var line in race)
    Console.WriteLine($"{line.Method,-26} {line.TokensPerSecond,6:F0} tokens/s  {line.SpeedUp:F2}× plain (median of repeats)  " +
                      $"{line.MeanAcceptedLength:F2} tokens per full pass  same text as plain: {line.SameAsPlain}");

// On a laptop CPU with this small model the race is usually lost — look at the speed-ups above — even though M2R2 yields many
// more tokens per full pass than early exit. The arithmetic explains it. With acceptance α and γ drafts a round yields
// (1 − α^(γ+1)) / (1 − α) tokens and costs γ draft steps plus one verification pass. Measure both costs in units of one plain
// decoding step:

double Time(Action step, int n)
{
    var clock = System.Diagnostics.Stopwatch.StartNew();
    for (int i = 0; i < n; i++) step();
    return clock.Elapsed.TotalMilliseconds / n;
}
double Median(IEnumerable<double> values) { var v = values.OrderBy(x => x).ToArray(); return v[v.Length / 2]; }
var probeCache = tiny.CreateCache();
var one = tensor(new long[] { 32 }).unsqueeze(0);
var many = tensor(Enumerable.Repeat(32L, gamma + 1).ToArray()).unsqueeze(0);
// The three costs are timed in turn, many times over, and each repeat gives its own ratios: noise on a shared machine
// then hits all three alike, and the medians of the ratios are what the formula needs.
var samples = new List<(double Plain, double Draft, double Verify)>();
using (no_grad())
    for (int r = 0; r < (quick ? 3 : 21); r++)
        samples.Add((
            Time(() => { tiny.Forward(one, probeCache).argmax().item<long>(); probeCache.Reset(); }, 20),
            Time(() => { tiny.Forward(one, probeCache, exitAfter: k).argmax().item<long>(); probeCache.Reset(); }, 20),
            Time(() => { tiny.Forward(many, probeCache).argmax(-1).cpu(); probeCache.Reset(); }, 20)));
double plainStep = Median(samples.Skip(1).Select(x => x.Plain));
double draftCost = Median(samples.Skip(1).Select(x => x.Draft / x.Plain)), verifyCost = Median(samples.Skip(1).Select(x => x.Verify / x.Plain));
var m2r2Line = race.First(l => l.Method.StartsWith("M2R2"));
double roundCost = gamma * draftCost + verifyCost;                    // in plain decoding steps
Console.WriteLine($"one plain step {plainStep:F2} ms; a draft step costs {draftCost:F2} plain steps, verifying {gamma + 1} tokens {verifyCost:F2}");
Console.WriteLine($"a round of γ = {gamma} costs {roundCost:F2} plain steps and yields {m2r2Line.MeanAcceptedLength:F2} tokens (M2R2)");
Console.WriteLine($"predicted speed-up {m2r2Line.MeanAcceptedLength / roundCost:F2}×, measured {m2r2Line.SpeedUp:F2}×");
Console.WriteLine($"break-even: {roundCost:F2} tokens per round, i.e. a per-draft acceptance of " +
    $"{Enumerable.Range(0, 1001).Select(i => i / 1000.0).FirstOrDefault(a => SpeculationMath.PredictedSpeedUp(a, gamma, draftCost, verifyCost) >= 1, double.NaN):P0}" +
    $"{(roundCost > gamma + 1 ? " — unreachable: even all-accepted rounds cost more than they yield" : "")}");

// Two facts sink the speed-up on a laptop CPU with a model this small:
//
// * a draft step through 4 of 8 blocks costs about half a plain step — each step is dominated by fixed per-operation overhead,
//   not by arithmetic, so cutting layers helps only proportionally;
// * verifying γ + 1 tokens costs *more* than one plain step, not the same.
//
// In the regime the paper measured — billions of weights, where one decoding step is bound by reading the weights from memory —
// verifying γ + 1 tokens costs about as much as one, drafts through a few layers are cheap, and trained M2R2 streams accept far
// more drafts: that is where 2.8× comes from. Change `gamma` and `k` above and re-run the cells to see how the prediction moves.
//
// Dynamic compute (tokens exiting early without verification) and ahead-of-time expert loading continue in notebook
// 05b.

// ## 5b. Where speculation pays: grow the target
//
// The arithmetic above says speculation pays when a target step is expensive and a draft step is cheap. HyperCloning
// (notebook 01) makes such targets for free: the pretrained model grown ×2, ×4, ×6 in width computes *the same function*, so
// the original small model drafts for it and nearly every draft is accepted, while one step of the target reads 4×, 16×, 36×
// the weights. `TargetSizeStudy.Run` grows the target, races plain cached greedy decoding against three drafters — the small
// model, early exit at layer k, and M2R2 with the accelerators trained above, grown the way HyperCloning grows the model — at
// fixed γ and with adaptive γ (longer after a fully accepted round, shorter after a rejection), times every step the cost model
// needs, and predicts each speed-up from the measured tokens per pass and costs. A briefly fine-tuned copy of each grown target
// shows what happens when the target is no longer an exact copy of the draft; its accelerators are then trained on it for a few
// steps, since the grown ones were made for the function it had before. Below the speed-up table, the study lists each target's
// per-draft acceptance at every exit k it measured. Every speculative output is checked against plain greedy decoding of the
// same target (the study throws otherwise).
//
// Change the widths, γ and drafters in the next cell and re-run it (×6 takes a few minutes on two cores).

var sizeOptions = new TargetSizeOptions
{
    WidthFactors = quick ? new[] { 1, 2 } : new[] { 1, 2, 4, 6 },   // HyperCloning factors of the target (1 = the small model itself)
    Gammas = quick ? new[] { 3 } : new[] { 1, 2, 3, 4 },              // draft lengths γ
    ExitLayer = k,                                                     // early-exit (and M2R2) layer; 0: no self-drafting
    AdaptiveGamma = true,                                              // also race adaptive γ (up to the largest γ above)
    FineTuneSteps = quick ? 0 : 40,                                    // 0: no fine-tuned targets
    AcceleratorExits = new[] { k },                                    // exits whose per-draft acceptance is measured (the accelerators above serve k)
    AcceleratorSteps = 60,                                             // training of the accelerators on each fine-tuned target
    Prompts = quick ? 1 : 2, NewTokens = quick ? 24 : 64, Repeats = quick ? 1 : 2, CostRepeats = quick ? 4 : 20,
};
bool withM2R2 = true;                                                  // the accelerators trained above, grown with the target
var sizeStudy = TargetSizeStudy.Run(tiny, SpeculativeExperiments.Prompts(corpus, sizeOptions.Prompts), corpus, sizeOptions, withM2R2 ? adapters : null);
display(sizeStudy);

// One γ instead of each point's best; fineTuned: true for the fine-tuned targets.
display(TargetSizeCharts.SpeedUp(sizeStudy, fineTuned: false, gamma: sizeOptions.Gammas.Max()));

// Read the chart from left to right. At ×1 the small model drafts for itself: a draft step costs as much as a plain step, so
// it can only lose. As the target widens, its step grows with the weights it reads while the small draft's stays put, so the
// two-model drafter crosses 1× and keeps climbing. It climbs more slowly than "γ + 1 tokens for the price of one" promises:
// the table's last column shows what verifying γ + 1 tokens costs in plain steps, and on a laptop CPU that is well above 1,
// because the matmul library takes almost proportionally longer for several rows than for one (the `speculative-targets`
// benchmark measures this for the widest target's layers). A GPU, or a library that reads each weight once for all rows,
// verifies γ + 1 tokens for about the price of one. The self-drafters stay near or under 1×: their draft runs k of the
// target's own blocks, so a draft step stays about k/L of a plain step at every width, and the exit table shows how many of
// their drafts the target accepts. Adaptive γ drafts longer only while drafts keep being accepted, so it finds a good γ
// without being told. The fine-tuned targets show the other half of the arithmetic: once the target moves away from the
// draft, acceptance drops and so does the speed-up.

// ## 6. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
Check(m2r2.Tokens.SequenceEqual(plainText) && early.Tokens.SequenceEqual(plainText), "greedy speculative output equals plain greedy output, token for token");
Check(race.Skip(1).All(l => l.SameAsPlain), "every drafter in the race reproduced plain greedy decoding");
Check(m2r2.Stream.Count == m2r2.Rounds.Sum(r => r.Emitted), "every round emits its accepted drafts plus one token of the full model");
Check(profile[^1].Agreement == 1 && profile[^1].Distance < 1e-6, "the last layer agrees with itself");
Check(profile[k].FastAgreement > profile[k].Agreement, $"the accelerators raise layer-{k} agreement ({profile[k].Agreement:P0} → {profile[k].FastAgreement:P0})");
Check(sizeStudy.Points.Where(p => p.WidthFactor > 1 && !p.FineTuned && p.Drafter.StartsWith("small")).All(p => p.Acceptance > 0.99),
      "a grown target accepts (nearly) every draft of the small model it was grown from");
if (!quick)
    Check(race.First(l => l.Method.StartsWith("M2R2")).MeanAcceptedLength > race.First(l => l.Method.StartsWith("early")).MeanAcceptedLength,
          "M2R2 drafts yield more tokens per full pass than early exit at the same k and γ");

// ## Exercises
//
// 1. **Depth.** Train accelerators for k = 2 and k = 6 (`SpeculativeExperiments.Accelerators(tiny, corpus, quick, exit: 2)`) and
//    race them. Where is the best k for *this* machine, and does the cost model of section 5 predict it? Then train one set for
//    every exit at once (`everyExit: true`), pass it to the study of section 5b with `AcceleratorExits = new[] { 1, 2, 3, 4 }`, and
//    read the per-draft acceptance at each k.
// 2. **γ.** Re-run the race with γ = 1, 2, 4 and with `AdaptiveGamma = true`. Which γ does the formula favour for the measured α?
//    In section 5b, compare the adaptive rows of the table with the best fixed γ at each width.
// 3. **Loss terms.** Train accelerators with only the distance term (`new AcceleratorOptions { KlWeight = 0, DistanceWeight = 1, Exits = new[] { 4 } }`)
//    and only KL. Which one raises agreement more, and why might a state that is *close* to the final one still predict differently?
// 4. **Sampling is exact.** Sample 2 000 two-token continuations of a short prompt with speculative sampling and with
//    `tiny.Generate(..., new GenerationOptions { Temperature = 1 })`; compare the counts of the ten most frequent continuations.
// 5. **A better draft model.** Train the draft model longer, or distil it on the target's predictions (KL to the target's logits
//    instead of the next byte). How high must its acceptance rise before it wins the race?

scriptHost.Finish();
