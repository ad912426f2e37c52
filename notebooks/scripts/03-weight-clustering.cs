// 03 · Weight clustering: DKM, its memory-lean form eDKM, and a palettised model: the notebook 03-weight-clustering.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/03-weight-clustering.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
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

// # 03 · Weight clustering: DKM, its memory-lean form eDKM, and a palettised model
//
// A weight matrix of a trained model holds tens of thousands of different numbers. **Weight clustering** replaces them by a few
// shared values: each weight keeps only a small **index** into a table of k = 2^bits centroids, so at 3 bits a float32 matrix
// shrinks about 10×. Clustering once after training (k-means) loses accuracy; **DKM** (Cho et al., 2022, *Differentiable
// K-Means*) keeps training while the clusters form, through a soft, differentiable assignment of weights to centroids.
// That soft assignment is big — N weights × k centroids — and **eDKM** (Cho et al., 2023) stores it for backward far more
// cheaply with the same math and the same gradients (130× less train-time memory on a LLaMA-7B layer).
//
// In this notebook you will
//
// 1. cluster one weight matrix by hand: look at the soft assignment A, and see why a 16-bit matrix has at most 65,536 distinct rows of A,
// 2. measure the bytes a DKM step keeps for backward, and how each eDKM trick cuts them — with identical gradients,
// 3. compress the pretrained model to 4, 3 and 2 bits by k-means and by DKM fine-tuning, and compare loss and size,
// 4. save the palettised model, run it in ONNX Runtime, and get the same text.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("03-weight-clustering", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: tiny layers and a few fine-tuning steps, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. One weight matrix by hand
//
// Take the first MLP layer of the pretrained model: 512 × 128 = 65,536 weights. DKM works on the weights rounded to 16 bits
// (bfloat16), as the paper does: a 16-bit number can take at most 65,536 different values, so however large the matrix, it has at
// most 65,536 **distinct** weights — here far fewer, because trained weights crowd around zero.

// #!model --pretrained --name tiny
var tiny = PretrainedModels.LoadTinyMoby();
display(tiny);

var w = tiny.blocks[0].mlp.fc.weight!.detach();
var w16 = w.to(ScalarType.BFloat16).to(ScalarType.Float32);
long distinct = w16.unique().Item1.numel();
display(new { weights = w.numel(), distinctFloat32 = w.unique().Item1.numel(), distinctBFloat16 = distinct, atMost = 1 << 16 });

// Start from k-means: k = 8 centroids (3 bits) placed on the weight distribution. The histogram shows where they sit.

int bits = 3, k = 1 << bits;
var centroids = KMeans.Fit(w16.reshape(1, -1), k);                 // (tables = 1, k)
display(ClusteringCharts.WeightHistogram(w16, centroids, title: "blocks.0.mlp.fc: weights and the 8 k-means centroids"));

// ### The soft assignment A
//
// Hard clustering gives each weight its nearest centroid: a step function, with no gradient. DKM gives each weight a
// **probability over the centroids**, `A = softmax(−(w − c)² / τ)`, and uses the mixture `W̃ = A C` during training; the
// temperature τ sets how soft it is (small τ: nearly hard). The gradient reaches both the weights and the centroids, and
// the centroids are re-estimated from A a few times per step (`C ← Aᵀw / ΣA`).
//
// A has one row per weight and one column per centroid: **N × k**. Below, 64 weights sorted by value; each row says how much of each
// centroid the weight takes.

display(ClusteringCharts.Attention(w16, centroids, temperature: 1e-4, rows: 64));

// A row depends on the weight only through its value: equal weights have equal rows. So A, which DKM keeps for the backward pass
// (N × k floats, for every clustered matrix and every iteration), has at most as many **distinct** rows as the matrix has distinct
// 16-bit values. That is eDKM's first trick, *uniquify*: store the U × k table of distinct rows and a small index per weight.

long n = w.numel();
display(new {
    dense = Format.Bytes(n * k * 4),
    uniquified = Format.Bytes(distinct * k * 4 + n * 2),              // table + a 16-bit index per weight
    ratio = Math.Round(n * k * 4.0 / (distinct * k * 4 + n * 2), 1),
    llama7bLayerDense = Format.Bytes(4096L * 11008 * k * 4),          // one MLP matrix of LLaMA-7B, same k
});

// ## 2. One DKM step, and what it keeps for backward
//
// `DkmClusterer.Soft` runs the DKM step through custom autograd functions whose saved tensors go to a **store**: the plain store
// keeps them as they are (DKM), the eDKM store packs them — uniquified, sharded across workers, de-duplicated when the same tensor
// is saved twice, and offloaded to host memory when training on a GPU. The math is the same, so the gradients are identical.

(Tensor Output, Tensor Grad, SavedTensorReport Memory) Step(EDkmOptions storage)
{
    using var store = new SavedTensorStore(storage);
    using var clusterer = new DkmClusterer(new DkmOptions { Bits = bits }, store);
    var master = w.clone().requires_grad_(true);
    var soft = clusterer.Soft(master);
    var memory = store.Report;                                         // what is held for backward now
    (soft * soft).sum().backward();
    return (soft.detach(), master.grad!.clone(), memory);
}
var dkm = Step(EDkmOptions.None);
var edkm = Step(EDkmOptions.All(8));
display(new {
    sameOutput = (dkm.Output - edkm.Output).abs().max().item<float>(),
    sameGradient = (dkm.Grad - edkm.Grad).abs().max().item<float>(),
    dkmKeeps = Format.Bytes(dkm.Memory.Current.Total),
    edkmKeepsPerWorker = Format.Bytes(edkm.Memory.Current.MaxPerWorker),
});

// Now the same on a whole decoder layer (width 512, MLP 4×: six matrices, 3 M weights; width 128 in quick mode), one training step, with eDKM's tricks added one
// at a time. The store counts the bytes exactly (sum of elements × element size of what it holds); the loss is the same in every row.

var corpus = TextCorpus.MobyDick();
var memoryRows = ClusteringExperiments.SavedMemory(corpus, new DkmOptions { Bits = 3 }, quick);
display(memoryRows);

// ## 3. Compress the pretrained model
//
// All 48 linear layers of the pretrained model, clustered to `bits` per weight (the embeddings, norms and biases stay float32):
// first once by k-means, then by DKM fine-tuning. `#!cluster` fine-tunes a copy and draws the loss and the watched layer's
// centroids live; the copy ends up palettised (every clustered weight one of its layer's k values).

var kmeans3 = ClusteringFineTuning.PostTraining(tiny, corpus, new DkmOptions { Bits = 3 }, evalBatches: quick ? 1 : 8);
display(kmeans3);

// #!cluster --model tiny --bits 3 --tau 1e-5 --steps 16 --batch 4 --block 128 --lr 3e-4 --warmup 2 --eval-every 4 --edkm --name tiny3 --result tiny3Result
var tiny3 = tiny.Copy();
CompressionResult tiny3Result;
using (var tiny3Store = new SavedTensorStore(new EDkmOptions { Uniquify = true, Deduplicate = true }))
using (var tiny3Layers = new ClusteredLayers(tiny3, new DkmOptions { Temperature = 1E-05 }, tiny3Store))
{
    var tiny3Training = QuickMode.Apply("#!cluster", new TrainingOptions { Steps = 16, BatchSize = 4, LearningRate = 0.0003, WarmupSteps = 2, EvalEvery = 4, EvalAtStart = true }, ClusteringExperiments.FineTuning(quick: true), quick);
    var tiny3Run = LiveView.Follow(ClusteringFineTuning.NewRun(tiny3, MobyDickCorpus.Get(), tiny3Layers.Options, tiny3Training));
    tiny3Result = ClusteringFineTuning.FineTune(tiny3, MobyDickCorpus.Get(), tiny3Layers, tiny3Training, tiny3Run);
    tiny3Run.ThrowIfDiverged();
    tiny3Layers.ApplyHardWeights();
    display(tiny3Store.Report);
}
tiny3.eval();
display(tiny3Result);

// A short run, to watch the centroids move (in full mode the comparison below trains longer). The same in C# (the live view is the magic's; `ClusteringFineTuning.FineTune` alone trains and returns the result). The table below
// runs the whole comparison with the benchmark's settings (`ClusteringExperiments.Compression`): 4, 3 and 2 bits, k-means against DKM
// fine-tuning from a fresh copy of the pretrained weights each time. The DKM fine-tunings use τ = 1e-5
// (`ClusteringExperiments.Temperature`): these weights are small, and at coremltools' default 1e-4 the soft assignment is so soft at 3–4 bits
// that what trains (soft) and what is deployed (hard) drift apart — exercise 1 lets you see it.

var results = ClusteringExperiments.Compression(corpus, quick);
display(results);

// ## 4. The palettised model, on disk and in ONNX Runtime
//
// `tiny3` holds only 8 values per clustered layer. Stored as a palette — a table of 8 floats and a 3-bit index per weight — it
// is several times smaller than float32; exported to ONNX with the tables decoded by a `Gather`, ONNX Runtime runs it and produces
// the same logits and the same text.

var folder = Path.Combine(Path.GetTempPath(), "efficientml-palette-demo");
Directory.CreateDirectory(folder);
var palettized = PalettizedModel.FromClusteredWeights(tiny3, bits: 3);         // tables = the exact 8 values of each layer
long paletteFile = palettized.Save(Path.Combine(folder, "tiny3.palettized.safetensors"));
long paletteOnnx = TinyGptOnnx.Export(palettized, Path.Combine(folder, "tiny3.onnx"));
long float32Onnx = TinyGptOnnx.Export(tiny, Path.Combine(folder, "tiny.onnx"));
long float32File = new FileInfo(PretrainedModels.TinyMobyPath).Length;
display(SeriesChart.Bars(["float32 safetensors", "float32 ONNX", "palettised safetensors", "palettised ONNX"],
    new[] { float32File, float32Onnx, paletteFile, paletteOnnx }.Select(b => b / 1e6).ToArray(),
    title: $"The pretrained model on disk: palettised at 3 bits, {float32Onnx / (double)paletteOnnx:F1}× smaller in ONNX", yTitle: "MB"));

// Load both back — the palettised file into TorchSharp, the ONNX file into ONNX Runtime — and compare logits and greedy text with the
// clustered model we trained:

var reloaded = PalettizedModel.Load(Path.Combine(folder, "tiny3.palettized.safetensors"));
var decoded = reloaded.ToTinyGpt();
var runtime = new OnnxLanguageModel(Path.Combine(folder, "tiny3.onnx"));
var prompt = ByteTokenizer.Instance.Encode("Call me Ishmael. Some years ago");
var probe = tensor(prompt.Select(t => (long)t).ToArray()).unsqueeze(0);
double onnxDiff, fileDiff;
using (no_grad())
{
    var reference = tiny3.Forward(probe);
    onnxDiff = (runtime.Forward(probe) - reference).abs().max().item<float>();
    fileDiff = (decoded.Forward(probe) - reference).abs().max().item<float>();
}
int newTokens = quick ? 40 : 160;
var torchText = ByteTokenizer.Instance.Decode(tiny3.Generate(prompt, new GenerationOptions { MaxNewTokens = newTokens }));
var onnxText = ByteTokenizer.Instance.Decode(runtime.Generate(prompt, newTokens));
display(new { maxLogitDifferenceOnnx = onnxDiff, maxLogitDifferenceFile = fileDiff, sameText = torchText == onnxText, text = "Call me Ishmael. Some years ago" + onnxText });

// ## 5. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
Check(distinct <= 65536, $"a 16-bit matrix has at most 65,536 distinct values ({distinct:N0} here)");
Check(dkm.Grad.equal(edkm.Grad).all().item<bool>() || (dkm.Grad - edkm.Grad).abs().max().item<float>() <= 1e-6 * dkm.Grad.abs().max().item<float>(), "eDKM's gradient equals DKM's");
Check(memoryRows[^1].PeakBytesPerWorker * 10 < memoryRows[0].PeakBytesPerWorker, $"eDKM keeps {memoryRows[0].PeakBytesPerWorker / (double)memoryRows[^1].PeakBytesPerWorker:F0}× fewer bytes per worker");
Check(memoryRows.All(r => r.Loss == memoryRows[0].Loss), "every storage computes the same loss");
Check(tiny3Result.ModelBytes * 5 < tiny3Result.Float32Bytes, $"the 3-bit model is {tiny3Result.CompressionRatio:F1}× smaller than float32");
Check(fileDiff == 0, "the palettised file decodes to exactly the clustered model");
Check(onnxDiff <= 1e-4, $"ONNX Runtime computes the clustered model's logits (max |Δ| {onnxDiff:G2})");
Check(torchText == onnxText, "ONNX Runtime writes the same greedy text");
if (!quick)
{
    var byBits = results.Where(r => r.Bits > 0).GroupBy(r => r.Bits);
    foreach (var g in byBits)
    {
        var km = g.First(r => r.Run is null); var ft = g.First(r => r.Run is not null);
        Check(ft.ValidationLoss < km.ValidationLoss, $"at {g.Key} bits DKM fine-tuning ({ft.ValidationBits:F3}) beats k-means ({km.ValidationBits:F3}) bits/byte");
    }
}

// ## Exercises
//
// 1. **Temperature.** Draw `ClusteringCharts.Attention` at τ = 1e-5, 1e-4 and 1e-3. Which is nearly hard? Fine-tune at 2 bits with each (`#!cluster --tau …`): which ends lower after hard clustering?
// 2. **Groups.** `new DkmOptions { Bits = 2, GroupSize = 16 }` gives every 16 output channels their own table. How much does it cost in bits per weight, and what does it buy in loss?
// 3. **Memory at scale.** For one LLaMA-7B MLP matrix (4096 × 11008) at 3 bits, compute DKM's dense A per iteration and eDKM's uniquified table + index. Where does the 130× of the paper come from?
// 4. **Embeddings.** The embeddings are 256 × 128 here. Cluster them too (`ClusteredLayers(model, options, includeEmbeddings: true)`); the head is tied to them — what happens to the loss?
// 5. **Which layers hurt.** Cluster one layer at a time at 2 bits (post-training) and plot the loss increase per layer. Are the attention or the MLP matrices more sensitive?

scriptHost.Finish();
