using System.Globalization;
using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive;

/// <summary>
/// Options of <c>#!cluster</c>, bound by name (<c>--no-finetune</c> → <see cref="NoFinetune"/>), plus the training
/// options of <c>#!train</c>; numbers arrive as text and are checked here.
/// </summary>
public sealed class ClusterCommand : TrainingOptionsCommand, ICSharpEquivalent
{
    /// <inheritdoc cref="ICSharpEquivalent.ToCSharp"/>
    public string ToCSharp() => ClusterMagic.ToCSharp(this);

    /// <summary>Name of the model to compress.</summary>
    public OptionText? Model { get; set; }
    /// <summary>Bits per weight (k = 2^bits centroids).</summary>
    public OptionText? Bits { get; set; }
    /// <summary>Temperature τ of the soft assignment.</summary>
    public OptionText? Tau { get; set; }
    /// <summary>Layers to cluster, comma-separated.</summary>
    public OptionText? Layers { get; set; }
    /// <summary>Variable name of the clustered model.</summary>
    public OptionText? Name { get; set; }
    /// <summary>Variable name of the compression result.</summary>
    public OptionText? Result { get; set; }
    /// <summary>Post-training k-means only.</summary>
    public bool NoFinetune { get; set; }
    /// <summary>eDKM storage of what backward needs.</summary>
    public bool Edkm { get; set; }
    /// <summary>Layer whose histogram and centroids are shown.</summary>
    public OptionText? Watch { get; set; }
}

/// <summary>
/// <c>#!cluster</c>: compresses a copy of a named model to a few bits per weight by DKM clustering-aware fine-tuning
/// (or by k-means alone), with one live view of the loss and of one layer's weights and centroids; keeps the palettised
/// copy and the result as C# variables. C#: <c>ClusteringFineTuning.FineTune(model.Copy(), corpus, new DkmOptions { Bits = 3 }, options)</c>.
/// </summary>
static class ClusterMagic
{
    /// <summary>
    /// C# equivalent: a copy of the model, its linear layers clustered (<c>ClusteredLayers</c>, with eDKM's storage for
    /// <c>--edkm</c>), fine-tuned by <c>ClusteringFineTuning.FineTune</c> with the run followed (or clustered once by
    /// <c>ClusteringFineTuning.PostTraining</c> with <c>--no-finetune</c>), then made palettised for good. <c>--watch</c> only
    /// chooses the layer of the magic's live centroid view and has no effect in a script.
    /// </summary>
    internal static string ToCSharp(ClusterCommand c)
    {
        var model = OptionValues.VariableName(c.Model, "--model", ModelMagic.DefaultName);
        int bits = Bits(c.Bits);
        var options = new DkmOptions { Bits = bits, Temperature = OptionValues.Double(c.Tau, "--tau", new DkmOptions().Temperature, min: 1e-12, max: 1e6) }.Validate();
        var name = OptionValues.VariableName(c.Name, "--name", $"{model}_{bits}bit");
        var result = OptionValues.VariableName(c.Result, "--result", DefaultResultName);
        if (name == model) throw new MagicException($"--name {name} is the model being clustered; the clustered copy needs a name of its own.");
        var layers = Layers(c.Layers);
        if (c.NoFinetune && (TrainingOptionParameters.Given(c).Count > 0 || c.Edkm))
            throw new MagicException("--no-finetune clusters without fine-tuning: drop the training options and --edkm, or drop --no-finetune.");
        var store = c.Edkm ? CSharpSource.Initializer(EDkmStorage) : "EDkmOptions.None";
        var code = new System.Text.StringBuilder();
        code.Append($"var {name} = {model}.Copy();\nCompressionResult {result};\n");
        code.Append($"using (var {name}Store = new SavedTensorStore({store}))\n");
        code.Append($"using (var {name}Layers = new ClusteredLayers({name}, {CSharpSource.Initializer(options)}, {name}Store{(layers is null ? "" : ", " + CSharpSource.Literal(layers))}))\n{{\n");
        if (c.NoFinetune)
        {
            code.Append($"    {result} = ClusteringFineTuning.PostTraining({name}, MobyDickCorpus.Get(), {name}Layers, " +
                        $"quick ? QuickMode.Fewer({FineTuningDefaults.EvalBatches?.ToString() ?? "null"}, ClusteringExperiments.FineTuning(quick: true).EvalBatches) : {FineTuningDefaults.EvalBatches?.ToString() ?? "null"});\n");
        }
        else
        {
            var asked = TrainingOptionParameters.Read(c, int.MaxValue, FineTuningDefaults) with { EvalAtStart = true };
            code.Append($"    var {name}Training = {CSharpSource.QuickTraining(Name, asked, "ClusteringExperiments.FineTuning(quick: true)")};\n");
            code.Append($"    var {name}Run = LiveView.Follow(ClusteringFineTuning.NewRun({name}, MobyDickCorpus.Get(), {name}Layers.Options, {name}Training));\n");
            code.Append($"    {result} = ClusteringFineTuning.FineTune({name}, MobyDickCorpus.Get(), {name}Layers, {name}Training, {name}Run);\n");
            code.Append($"    {name}Run.ThrowIfDiverged();\n");
        }
        code.Append($"    {name}Layers.ApplyHardWeights();\n");
        if (!c.NoFinetune) code.Append($"    display({name}Store.Report);\n");
        code.Append($"}}\n{name}.eval();\ndisplay({result});");
        return code.ToString();
    }

    public const string Name = "#!cluster";
    public const string DefaultResultName = "clustering";
    public const string DefaultWatch = "blocks.0.mlp.fc";

    /// <summary>Fine-tuning starts from trained weights: fewer steps, a gentler rate and a short warmup than <c>#!train</c>.</summary>
    public static TrainingOptions FineTuningDefaults { get; } = new() { Steps = 100, LearningRate = 3e-4, WarmupSteps = 10 };

    /// <summary>eDKM's storage as <c>--edkm</c> uses it: unique rows + indices, each tensor saved once.</summary>
    public static EDkmOptions EDkmStorage { get; } = new() { Uniquify = true, Deduplicate = true };

    public static void AddTo(MagicSet magics)
    {
        var session = magics.Session;
        var d = new DkmOptions();
        var directive = new KernelActionDirective(Name)
        {
            Description = "Compresses a copy of a model to --bits bits per weight by weight clustering: every linear layer's weights share " +
                          "k = 2^bits values (a palette). DKM fine-tunes the copy while the clusters form (differentiable k-means: soft " +
                          "assignment softmax(−(w − c)²/τ)); --no-finetune clusters once by k-means instead. One live view shows the loss " +
                          "and one layer's weight histogram with its centroids moving. The copy is left hard-clustered (each weight its " +
                          "nearest centroid) and kept as a C# variable (--name, default '<model>_<bits>bit'), the CompressionResult too " +
                          "(--result, default 'clustering'); the original model is not changed. Interrupt the cell to stop between two steps. " +
                          "C#: ClusteringFineTuning.FineTune(model.Copy(), corpus, new DkmOptions { Bits = 3 }, options).",
        };
        directive.Parameters.Add(ModelMagic.Option(session, "--model",
            $"Name of the model to compress, made with #!model or a C# variable holding a TinyGpt; it is copied, never changed (default '{ModelMagic.DefaultName}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--bits",
            "Bits per weight, 1 to 8: each clustered layer gets k = 2^bits centroids, e.g. 3 → 8 values (required; no default)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--tau",
            $"Temperature τ of the soft assignment softmax(−(w − c)²/τ), in squared weight units; smaller is harder (default {d.Temperature.ToString("G", CultureInfo.InvariantCulture)})."));
        directive.Parameters.Add(new KernelDirectiveParameter("--layers",
            "Layers to cluster, by module name and comma-separated, e.g. blocks.0.mlp.fc,blocks.0.mlp.proj (default: every linear layer)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--name",
            "Variable name for the clustered copy in C# cells and in other magics' --model (default '<model>_<bits>bit', e.g. model_3bit)."));
        directive.Parameters.Add(new KernelDirectiveParameter("--result",
            $"Variable name for the CompressionResult (loss, size, the fine-tuning run) in C# cells (default '{DefaultResultName}')."));
        directive.Parameters.Add(new KernelDirectiveParameter("--no-finetune",
            "Cluster once by k-means on the trained weights, without fine-tuning: post-training palettisation (default: DKM fine-tuning).") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--edkm",
            "Keep what backward needs the eDKM way: unique rows of the attention + small indices, each tensor saved once; same gradients, " +
            "far less memory (default: plain DKM storage).") { Flag = true });
        directive.Parameters.Add(new KernelDirectiveParameter("--watch",
            $"Layer whose weight histogram and centroids are shown (default '{DefaultWatch}', or the first clustered layer when it is not clustered)."));
        foreach (var parameter in TrainingOptionParameters.Create(FineTuningDefaults)) directive.Parameters.Add(parameter);
        magics.Add<ClusterCommand>(directive, (command, context) => RunAsync(command, context, session));
    }

    static async Task RunAsync(ClusterCommand c, KernelInvocationContext context, NotebookSession session)
    {
        var modelName = (c.Model ?? ModelMagic.DefaultName).Trim();
        int bits = Bits(c.Bits);
        var options = new DkmOptions
        {
            Bits = bits,
            Temperature = OptionValues.Double(c.Tau, "--tau", new DkmOptions().Temperature, min: 1e-12, max: 1e6),
        }.Validate();
        var name = session.ResultName(c.Name, "--name", $"{modelName}_{bits}bit");
        var resultName = session.ResultName(c.Result, "--result", DefaultResultName);
        if (name == modelName)
            throw new MagicException($"--name {name} is the model being clustered; the clustered copy needs a name of its own, e.g. --name {modelName}_{bits}bit.");
        var layerNames = Layers(c.Layers);
        if (c.NoFinetune)
        {
            var unused = TrainingOptionParameters.Given(c).Concat(c.Edkm ? new[] { "--edkm" } : Array.Empty<string>()).ToList();
            if (unused.Count > 0)
                throw new MagicException($"{string.Join(", ", unused)} only apply to fine-tuning, and --no-finetune clusters without it: " +
                                         $"drop {(unused.Count == 1 ? "it" : "them")}, or drop --no-finetune.");
        }
        var model = ModelMagic.Find(session, modelName, "cluster");
        var training = c.NoFinetune ? null : QuickMode.Apply(session, context, Name,
            TrainingOptionParameters.Read(c, model.Config.ContextLength, FineTuningDefaults) with { EvalAtStart = true }, ClusteringExperiments.FineTuning(quick: true));
        int? postTrainingEvalBatches = session.Quick ? QuickMode.Fewer(FineTuningDefaults.EvalBatches, ClusteringExperiments.FineTuning(quick: true).EvalBatches)
                                                     : FineTuningDefaults.EvalBatches;
        var corpus = MobyDickCorpus.Get();

        TinyGpt? copy = null;
        SavedTensorStore? store = null;
        ClusteredLayers? layers = null;
        ClusterView? view = null;
        bool kept = false;
        // Not while a training step (of an interrupted #!train, #!race, #!cluster or #!route) may still be writing these weights.
        await session.TrainingGate.WaitAsync(context.CancellationToken);
        try
        {
            copy = model.Copy();
            store = new SavedTensorStore(c.Edkm ? EDkmStorage : EDkmOptions.None);
            // The library's message lists the layers that exist when a name is wrong.
            layers = new ClusteredLayers(copy, options, store, layerNames);
            var watch = Watch(c.Watch, layers);
            CompressionResult result;
            if (training is null)
            {
                if (session.Quick)
                    QuickMode.Announce(context, Name, [$"{FineTuningDefaults.EvalBatches} → {postTrainingEvalBatches} validation batches"]);
                result = ClusteringFineTuning.PostTraining(copy, corpus, layers, postTrainingEvalBatches);
                view = new ClusterView(watch, options.Clusters, run: null) { Result = result };
                view.Capture(layers);
                context.Display(view, HtmlFormatter.MimeType);
            }
            else
            {
                var run = ClusteringFineTuning.NewRun(copy, corpus, options, training);
                session.LastRun = run;
                view = new ClusterView(watch, options.Clusters, run);
                var display = new ThrottledDisplay(context, LiveView.UpdateInterval);
                var liveView = view;
                var liveLayers = layers;
                display.ShowIfDue(() => { liveView.Capture(liveLayers); return liveView; });
                // Off the kernel's thread, so an interrupt is seen while the steps run; the trainer checks the token between steps.
                // The callback runs on the training thread between steps, where the weights and centroids may be copied.
                result = await Task.Run(() => ClusteringFineTuning.FineTune(copy, corpus, layers, training, run,
                    onStep: (r, l) => display.ShowIfDue(() => { liveView.Capture(l); return liveView; }, force: r.Outcome != TrainingOutcome.Running),
                    cancellation: context.CancellationToken));
                // Interrupted: the cell has ended, so nothing more is shown or shared, and the half-trained copy is dropped.
                if (context.CancellationToken.IsCancellationRequested || run.Outcome == TrainingOutcome.Cancelled) return;
                run.ThrowIfDiverged(); // the copy is dropped; the model it came from is untouched
                view.Result = result;
                display.Show(view, force: true);
            }
            // The registered model IS the palettised one: every clustered weight its nearest centroid, for good.
            layers.ApplyHardWeights();
            copy.eval();
            session.Models.Set(name, copy);
            kept = true;
            await session.ShareAsync(name, copy, typeof(TinyGpt));
            await session.ShareAsync(resultName, result, typeof(CompressionResult));
            if (training is not null) context.Display(store.Report, HtmlFormatter.MimeType);
        }
        finally
        {
            view?.Dispose();
            layers?.Dispose();
            store?.Dispose();
            if (!kept) copy?.Dispose();
            session.TrainingGate.Release();
        }
    }

    /// <summary>The bits as a whole number for the library to check (it explains the 1–8 range); a missing or non-numeric value is refused here.</summary>
    static int Bits(string? text) =>
        OptionValues.Int(OptionValues.Required(text, "#!cluster needs --bits B, the bits per weight: 1 to 8 (k = 2^B centroids per layer), e.g. --bits 3."),
            "--bits", 3, min: 1, max: 8, why: "k = 2^bits centroids per table, 2 to 256");

    static IReadOnlyList<string>? Layers(string? text) =>
        OptionValues.Names(text, "--layers", $"{DefaultWatch},blocks.0.mlp.proj")?.Distinct(StringComparer.Ordinal).ToList();

    static string Watch(string? text, ClusteredLayers layers)
    {
        if (text is null) return layers.Names.Contains(DefaultWatch) ? DefaultWatch : layers.Names[0];
        var watch = text.Trim();
        if (layers.Names.Contains(watch)) return watch;
        var names = layers.Names;
        throw new MagicException($"--watch {watch}: not one of the clustered layers ({string.Join(", ", names.Take(12))}{(names.Count > 12 ? ", …" : "")}). " +
                                 "Watch one of them, or add it to --layers.");
    }
}
