using System.Globalization;
using EfficientML.Cloning;
using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Speculative;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Pipeline;

/// <summary>
/// The built-in steps, in their usual order: grow (HyperCloning), train, draft (subcloning), route (DynaMoE), cluster
/// (DKM/eDKM and palettes), decode (M2R2 and two-model speculation), export (ONNX). Each re-checks its technique's
/// invariant on the composed model and records how it interacts with the steps before it.
/// </summary>
public static partial class PipelineSteps
{
    /// <summary>Every built-in step in the usual order.</summary>
    public static IReadOnlyList<PipelineStep> All { get; } =
    [
        new("grow", "grow (HyperCloning)", "01-hypercloning.ipynb", Grow),
        new("train", "train briefly", "01-hypercloning.ipynb", Train),
        new("draft", "draft model (subcloning)", "02-subcloning.ipynb", Draft),
        new("route", "route (DynaMoE)", "04-token-routing.ipynb", Route),
        new("cluster", "cluster (DKM) and palettise", "03-weight-clustering.ipynb", Cluster),
        new("decode", "decode (speculative)", "05-speculative-decoding.ipynb", Decode),
        new("export", "export (ONNX)", "03-weight-clustering.ipynb", Export),
    ];

    /// <summary>Names of the built-in steps, in the usual order.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(s => s.Name).ToList();

    /// <summary>The built-in step called <paramref name="name"/> (case-insensitive), or one clear message listing them.</summary>
    public static PipelineStep Named(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidSettingsException($"There is no pipeline step '{name}'. The steps are {string.Join(", ", Names)}.");

    /// <summary>Training settings with the block cut to the model's context.</summary>
    static TrainingOptions Fit(TrainingOptions training, TinyGptConfig config) => training with { BlockSize = Math.Min(training.BlockSize, config.ContextLength) };

    static long Tokens(TrainingRun run) => run.Steps.Count * run.TokensPerStep;

    static string Text(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Seeded training-split tokens (B, T) for calibration.</summary>
    static Tensor Calibration(TextCorpus corpus, TinyGptConfig config, int batch, long seed, Split split = Split.Train)
    {
        using var generator = Seeding.Generator(seed);
        return corpus.SampleBatch(split, batch, Math.Min(128, config.ContextLength), generator).Inputs;
    }

    static StepWork Grow(PipelineState state, PipelineContext context)
    {
        var o = context.Options;
        context.Stage?.Invoke($"Growing the model ×{o.GrowFactor} with HyperCloning…");
        long before = state.Target.ParameterCount;
        var source = state.Target.Config;
        var (grown, report) = HyperCloning.Expand(state.Target, o.GrowFactor, new HyperCloneOptions { NoiseSnrDb = o.CloneNoiseSnrDb }, context.Cancellation);
        state.ReplaceTarget(grown);
        return new StepWork(
            $"HyperCloning ×{o.GrowFactor}: width {source.Dim} → {grown.Config.Dim}, {before:N0} → {grown.ParameterCount:N0} parameters",
            0,
            [new InvariantCheck("grown model computes the same function", report.PreservesFunction, $"max |Δ logit| {Text(report.MaxLogitDifference, "E2")} (≤ 1e-4)")],
            o.CloneNoiseSnrDb is { } snr ? [$"clones carry zero-sum noise at {Text(snr, "0.#")} dB, so training can tell them apart; the sum, and the function, stay the same"] : []);
    }

    static StepWork Train(PipelineState state, PipelineContext context)
    {
        var o = context.Options;
        bool grown = state.Done.Contains("grow");
        if (grown) RecordFit(context, state, new ModelDrafter(state.Start, "start model"), state.Start, "grown model, before training");
        context.Stage?.Invoke("Training the model briefly…");
        var run = LanguageModelTraining.Train(state.Target, context.Corpus, Fit(o.Training, state.Target.Config), "pipeline: brief training", context.Progress, context.Cancellation);
        context.Cancellation.ThrowIfCancellationRequested();
        run.ThrowIfDiverged();
        state.Target.eval();
        if (grown) RecordFit(context, state, new ModelDrafter(state.Start, "start model"), state.Start, "grown model, after training");
        var losses = run.Steps.Select(s => s.Loss).ToList();
        int tenth = Math.Max(1, losses.Count / 10);                                 // one batch's loss is noisy: compare the first and last tenth
        return new StepWork(
            $"{run.Steps.Count} steps of {run.TokensPerStep:N0} tokens; training loss {Text(losses.Take(tenth).Average(), "F3")} → " +
            $"{Text(losses.TakeLast(tenth).Average(), "F3")} nats (means of the first and last {tenth} steps)",
            Tokens(run),
            [new InvariantCheck("training stayed finite", losses.All(double.IsFinite), $"{losses.Count} losses, last {Text(losses[^1], "F3")}")],
            []);
    }

    static StepWork Draft(PipelineState state, PipelineContext context)
    {
        var o = context.Options;
        var config = state.Target.Config;
        int headWidth = config.Dim / config.Heads;
        int dim = Math.Max(headWidth, (int)Math.Round(config.Dim * o.DraftWidth / headWidth) * headWidth);
        int layers = Math.Max(1, (int)Math.Round(config.Layers * o.DraftDepth));
        context.Stage?.Invoke($"Subcloning a draft model of {layers} × {dim} from the target…");
        using var calibration = Calibration(context.Corpus, config, 8, seed: 9);
        using var evaluation = Calibration(context.Corpus, config, 8, seed: 10, Split.Validation);
        bool same;
        using (var whole = Subcloning.Shrink(state.Target, new SubcloneOptions(), calibration).Model)
        using (no_grad())
        using (var a = whole.Forward(evaluation))
        using (var b = state.Target.Forward(evaluation))
            same = PipelineProbes.Same(a, b);
        var (draft, report) = Subcloning.Shrink(state.Target, new SubcloneOptions { Dim = dim, Layers = layers }, calibration, evaluation, cancellation: context.Cancellation);
        TrainingRun run;
        try
        {
            run = LanguageModelTraining.Train(draft, context.Corpus, Fit(o.DraftTraining, draft.Config), "pipeline: draft model", context.Progress, context.Cancellation);
            context.Cancellation.ThrowIfCancellationRequested();
            run.ThrowIfDiverged();
            draft.eval();
        }
        catch
        {
            draft.Dispose();
            throw;
        }
        state.Draft?.Dispose();
        state.Draft = draft;
        RecordFit(context, state, new ModelDrafter(draft, "draft model"), draft, "draft made from the target");
        return new StepWork(
            $"subcloned {layers} × {dim} ({draft.ParameterCount:N0} parameters), then trained {run.Steps.Count} steps",
            Tokens(run),
            [new InvariantCheck("subcloning that keeps every unit equals the target", same, same ? "logits equal bit for bit" : "logits differ")],
            [$"before training the draft's loss was {Text(report.LossBeforeTraining, "F3")} nats (random initialisation {Text(report.RandomInitLoss, "F3")}, the target {Text(report.SourceLoss, "F3")})"]);
    }

    /// <summary>
    /// Records how well <paramref name="draft"/> fits the target now: greedy agreement on the validation windows, and,
    /// where the target decodes with a cache (not routed), real speculative decoding of the prompts.
    /// </summary>
    static void RecordFit(PipelineContext context, PipelineState state, Drafter drafter, TinyGpt draft, string question)
    {
        var (x, _) = PipelineProbes.Windows(context.Corpus, state.Target.Config, context.Options.AgreementWindows);
        double agreement;
        using (x) agreement = PipelineProbes.Agreement(draft, state, x);
        double? acceptance = null;
        bool? same = null;
        if (state.Routed is null)
        {
            var (rate, equal) = PipelineProbes.Acceptance(state.Target, drafter, context.Prompts, context.Options.DecodeTokens, context.Options.Gamma, context.Cancellation);
            (acceptance, same) = (rate, equal);
        }
        context.Interactions.Add(new DraftFit(question, drafter.Name, TargetName(state), agreement, acceptance, same));
    }

    static string TargetName(PipelineState state)
    {
        var c = state.Target.Config;
        var name = $"{c.Layers} × {c.Dim}";
        if (state.Routed is not null) name += $", routed θ = {Text(state.Theta!.Value, "0.##")}";
        if (state.Palettized is not null) name += $", palettised ({Text(state.Palettized.Size.BitsPerPalettizedWeight, "0.0")} bits per weight)";
        return name;
    }
}
