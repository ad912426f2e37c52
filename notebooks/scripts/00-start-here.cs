// 00 · Start here: a tiny GPT you can look inside: the notebook 00-start-here.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/00-start-here.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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

// # 00 · Start here: a tiny GPT you can look inside
//
// This notebook is the tour of **EfficientML Notebooks**. In a few minutes on a laptop CPU you will
//
// 1. load the extension (magic commands, charts that work offline),
// 2. see where your code runs,
// 3. open the small pretrained language model every later notebook starts from,
// 4. look at one of its weight matrices,
// 5. measure how well it predicts text, in bits per byte, next to `gzip`,
// 6. generate text with it, and time the KV cache that makes generation fast,
// 7. train a model of your own while its loss curve grows in the cell.
//
// Every magic command (`#!…`) has the plain C# call next to it: magics are for exploring, the C# calls are what you put in your own code.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("00-start-here", args);

// The first cell loads the extension from the repository's build output (the README's run command builds it). It must run before anything else touches TorchSharp: it loads the native library, registers the magic commands and formatters, and carries the chart library so charts draw without internet.
//
// The next cell holds the notebook's **parameters**. The headless runner can override them (`--param quick=true`); quick mode makes every step smaller so the whole notebook runs in seconds in CI.

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: smaller evaluations and shorter training, for CI and tests
scriptHost.EndOptions();

// ## 1. Where am I running?
//
// `#!environment` reports the device (a CUDA GPU when the CUDA build finds one, else the CPU), the torch thread count, the versions in use, and where the data and the pretrained model are.

// #!environment
display(EnvironmentReport.Collect());

// The same facts from C#, for your own code:

display($"device: {Devices.Default.type}, torch threads: {TorchThreads.Current}, datasets: {ProjectPaths.Datasets}");

// ## 2. The pretrained tiny model
//
// A decoder-only transformer in the GPT-2 layout, trained by this project on the first 90 % of *Moby-Dick*. It reads **bytes** (a vocabulary of 256: no tokenizer to train, any text works), so its loss is directly comparable with a compressor's. `datasets/models/README.md` says exactly how it was trained.
//
// `#!model --pretrained` loads it, keeps it as the C# variable named by `--name`, and shows its structure: per layer, the shapes of the weight matrices and their parameter counts.

// #!model --pretrained --name tiny
var tiny = PretrainedModels.LoadTinyMoby();
display(tiny);

// In C#, `PretrainedModels.LoadTinyMoby()` returns the same model; `tiny` is now an ordinary variable. The configuration predicts the parameter count: embeddings, then per block four attention projections and two MLP matrices with their biases, plus the layer norms.

var fromCode = PretrainedModels.LoadTinyMoby();
display(new {
    fromCode.Config.Layers, fromCode.Config.Dim, fromCode.Config.Heads, fromCode.Config.MlpDim, fromCode.Config.ContextLength,
    Parameters = fromCode.ParameterCount,
    PredictedByConfig = fromCode.Config.ParameterCount,
    SameAsMagic = fromCode.ParameterCount == tiny.ParameterCount,
});

// ## 3. A weight matrix
//
// Any tensor shows its shape, dtype, device, a few statistics and its values; a 2-D tensor also gets a heat map (blue negative, red positive). Below: the query projection of the first block, 128 output features (4 heads × 32) by 128 inputs. Look for rows and columns that stand out: later notebooks use such structure (cloning tiles these matrices, clustering replaces their values by a few centroids).

display(tiny.blocks[0].attn.q_proj.weight);

// ## 4. How good is it? Bits per byte
//
// The model's loss is the cross-entropy of the next byte in nats; divided by ln 2 it is **bits per byte**: how many bits an ideal coder driven by this model would spend per character of unseen text. Plain bytes cost 8 bits; `gzip` is a fair baseline that we can measure on the same validation text, right here.

var corpus = TextCorpus.MobyDick();   // deterministic split: the last 10 % of the book is validation
var modelBits = LanguageModelTraining.Evaluate(tiny, corpus, maxBatches: quick ? 2 : null) / Math.Log(2);

var validationBytes = System.Text.Encoding.UTF8.GetBytes(corpus.ValidationText);
var compressed = new System.IO.MemoryStream();
using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
    gzip.Write(validationBytes);
var gzipBits = compressed.Length * 8.0 / validationBytes.Length;

display(SeriesChart.Bars(["raw bytes", "gzip (smallest)", "tiny GPT"], [8.0, gzipBits, modelBits],
    title: $"Validation text of Moby-Dick ({validationBytes.Length:N0} bytes{(quick ? ", model on the first windows only" : "")})",
    yTitle: "bits per byte"));

// ## 5. Generate text
//
// `Generate` continues a prompt one token at a time: greedy (`Temperature = 0`) always takes the most likely byte; sampling draws from the softmax at a temperature, optionally among the `TopK` most likely bytes. The callback sees every token as it is chosen, so the text can grow in the cell.

var prompt = "Call me Ishmael. ";
var decoder = ByteTokenizer.Streaming();                       // holds back half-finished UTF-8 characters
var text = new System.Text.StringBuilder(prompt);
var shown = KernelInvocationContext.Current.Display(text.ToString(), "text/plain");
var lastUpdate = System.Diagnostics.Stopwatch.StartNew();
tiny.Generate(ByteTokenizer.Instance.Encode(prompt),
    new GenerationOptions { MaxNewTokens = quick ? 80 : 400, Temperature = 0.8, TopK = 40, Seed = 7 },
    onToken: t =>
    {
        text.Append(decoder.Push(t));
        if (lastUpdate.ElapsedMilliseconds > 250) { shown.Update(text.ToString()); lastUpdate.Restart(); }
    });
shown.Update(text.ToString());

// ### Why generation needs a KV cache
//
// Without a cache, every new token re-runs the whole context through all layers. With the **KV cache** the model keeps each layer's keys and values of past positions and runs only the new token. Same tokens, far less work: the cell checks both give identical output and times them.

var promptTokens = ByteTokenizer.Instance.Encode(prompt);
int newTokens = quick ? 40 : 200;
(int[] Tokens, double PerSecond) Timed(bool useCache)
{
    tiny.Generate(promptTokens, new GenerationOptions { MaxNewTokens = 4, UseCache = useCache });   // warm-up
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var produced = tiny.Generate(promptTokens, new GenerationOptions { MaxNewTokens = newTokens, UseCache = useCache });
    return (produced, produced.Length / clock.Elapsed.TotalSeconds);
}
var uncached = Timed(useCache: false);
var cached = Timed(useCache: true);
var sameTokens = uncached.Tokens.SequenceEqual(cached.Tokens);

display(SeriesChart.Bars(["no cache", "KV cache"], [uncached.PerSecond, cached.PerSecond],
    title: $"Greedy generation of {newTokens} tokens: {cached.PerSecond / uncached.PerSecond:F1}× faster with the cache, identical output: {sameTokens}",
    yTitle: "tokens per second"));

// ## 6. Train a model live
//
// `#!model` with sizes creates a fresh, randomly initialised model; `#!train` trains it on the *Moby-Dick* training split (AdamW, warmup then cosine decay, gradient clipping) and redraws its loss curve in place while it runs: solid for the training loss, dashed points for the validation loss. Interrupt the cell to stop between two steps; the model keeps the weights it reached.

// #!model --name small --layers 2 --dim 64 --heads 2 --context 128 --seed 1
var small = new TinyGpt(new TinyGptConfig { ContextLength = 128, Layers = 2, Dim = 64, Heads = 2, KvHeads = 2, MlpDim = 256 }, seed: 1L);
display(small);

// #!train --model small --steps 60 --batch 16 --block 128 --lr 2e-3 --warmup 12 --eval-every 20 --run smallRun
var smallRun = LanguageModelTraining.NewRun(small, MobyDickCorpus.Get(), QuickMode.Apply("#!train", new TrainingOptions { Steps = 60, LearningRate = 0.002, WarmupSteps = 12, EvalEvery = 20 }, QuickMode.Training, quick), "small");
LiveView.Follow(smallRun);
LanguageModelTraining.Train(small, MobyDickCorpus.Get(), smallRun);
smallRun.ThrowIfDiverged();

// The same in C#, and longer (in full mode): make the training record first, let `LiveView.Follow` draw it as it grows, then train. `LanguageModelTraining.Train(model, corpus, options)` alone does the same without the live chart.

var longer = new TinyGpt(new TinyGptConfig { Layers = 2, Dim = 64, Heads = 2, KvHeads = 2, MlpDim = 256, ContextLength = 128 }, seed: 1);
var options = new TrainingOptions { Steps = quick ? 30 : 1500, BatchSize = 16, BlockSize = 128, LearningRate = 2e-3,
                                    WarmupSteps = quick ? 3 : 150, EvalEvery = quick ? 10 : 50, EvalBatches = 4 };
var longerRun = LanguageModelTraining.NewRun(longer, corpus, options, "small, C#");
EfficientML.Interactive.LiveView.Follow(longerRun);
LanguageModelTraining.Train(longer, corpus, longerRun);

// What did it learn? Sample from the freshly trained model and from the pretrained one with the same prompt and seed. The small model has seen far fewer bytes and has fewer layers: compare the words it makes up.

string Sample(TinyGpt m) => ByteTokenizer.Instance.Decode(
    m.Generate(ByteTokenizer.Instance.Encode(prompt), new GenerationOptions { MaxNewTokens = 160, Temperature = 0.8, TopK = 40, Seed = 3 }));
display(new { Small = prompt + Sample(longer), Pretrained = prompt + Sample(tiny) });

// ## 7. Self-check
//
// Run this cell after the others: it checks what the notebook showed, with numbers this run computed.

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
Check(tiny.ParameterCount == tiny.Config.ParameterCount, $"the configuration predicts the parameter count ({tiny.ParameterCount:N0})");
Check(tiny.Config.Layers >= 6, "the pretrained model is deep enough for early-exit drafts (≥ 6 layers)");
Check(modelBits < gzipBits, $"the tiny model ({modelBits:F2} bits/byte) compresses unseen Moby-Dick better than gzip ({gzipBits:F2})");
Check(sameTokens, "generation with the KV cache gives exactly the tokens of generation without it");
Check(cached.PerSecond > uncached.PerSecond, $"the KV cache is faster ({cached.PerSecond / uncached.PerSecond:F1}×)");
Check(smallRun.Outcome == TrainingOutcome.Completed && smallRun.Steps[^1].Loss < smallRun.Steps[0].Loss, "#!train lowered the loss");
Check(longerRun.LastValidationLoss < longerRun.Evaluations[0].ValidationLoss, $"the C# run lowered the validation loss ({longerRun.Evaluations[0].ValidationLoss:F2} → {longerRun.LastValidationLoss:F2} nats)");

// ## Exercises
//
// 1. **Temperature.** Generate from `tiny` with `Temperature` 0.3, 0.8 and 1.5 (same seed). Which reads most like Melville, and which invents the most words? What does `TopK = 1` do at any temperature?
// 2. **Another text.** Compute the bits per byte of `tiny` on a paragraph that is not Melville (`TextCorpus.FromText("mine", yourText, ByteTokenizer.Instance)`). Why is it higher? Is `gzip` hurt as much?
// 3. **Grouped-query attention.** `#!model --name gqa --layers 2 --dim 64 --heads 4 --kv-heads 1 --context 128`, then train it like `small`. How many parameters did sharing one key/value head save, and what did it cost in loss?
// 4. **Early exit.** `tiny.Forward(tokens, exitAfter: 4)` runs only the first 4 of 8 blocks, then the final norm and head. Measure the validation loss when exiting after 2, 4 and 6 blocks. How much worse is a half-depth model? (Notebook 05 turns this into lossless speculative decoding.)
// 5. **Interrupt.** Start `#!train --model small --steps 5000` and interrupt it. Check `run.Outcome` and `run.Message`, then generate from `small`: the weights are those of the last completed step.

scriptHost.Finish();
