using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Export;
using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Speculative;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace EfficientML.Pipeline;

public static partial class PipelineSteps
{
    static StepWork Route(PipelineState state, PipelineContext context)
    {
        var o = context.Options;
        context.Stage?.Invoke("Making nested experts and routers (DynaMoE)…");
        using var calibration = Calibration(context.Corpus, state.Target.Config, 8, seed: 3);
        var routed = RoutedGpt.FromDense(state.Target, calibration, o.Routing, RoutingExperiments.RouterSeed);
        try
        {
            var run = RoutingFineTuning.FineTune(routed, context.Corpus, o.Routing, Fit(o.RoutingTraining, routed.Config), null, context.Progress, context.Cancellation);
            context.Cancellation.ThrowIfCancellationRequested();
            run.ThrowIfDiverged();
            routed.eval();
            context.Stage?.Invoke("Sweeping θ on the validation windows…");
            var sweep = RoutingEvaluation.Sweep(routed, context.Corpus, o.Thetas, o.EvalBatches);
            var dense = RoutingEvaluation.Evaluate(routed, context.Corpus, new ExpertChoice.Static(routed.Sizes.Count - 1), o.EvalBatches);
            var pick = RoutingStudy.CheapestWithin(sweep, dense.ValidationLoss, o.LossBudget);
            double theta = pick?.Theta ?? 1;
            context.Interactions.Routing = new RoutingChoice(sweep, dense, theta, o.LossBudget);

            var (x, _) = PipelineProbes.Windows(context.Corpus, routed.Config, o.AgreementWindows);
            bool exact, monotone = sweep.OrderBy(p => p.Theta).Zip(sweep.OrderBy(p => p.Theta).Skip(1)).All(pair => pair.First.MlpMultiplyAdds <= pair.Second.MlpMultiplyAdds + 1e-9);
            double draftDense = double.NaN;
            using (x)
            using (no_grad())
            {
                using var atOne = routed.Run(x, ExpertChoice.AtTheta(1));
                using var plain = routed.model.Forward(x);
                exact = PipelineProbes.Same(atOne.Logits, plain);
                if (state.Draft is { } draft)
                {
                    using var d = draft.Forward(x);
                    draftDense = PipelineProbes.Agreement(d, plain);
                }
            }
            state.Route(routed, theta);
            if (state.Draft is { } drafted)
            {
                context.Interactions.Add(new DraftFit("target before routing (θ = 1, dense)", "draft model", TargetName(state).Split(',')[0], draftDense, null, null));
                RecordFit(context, state, new ModelDrafter(drafted, "draft model"), drafted, "routed target at the θ picked");
            }
            var chosen = sweep.FirstOrDefault(p => p.Theta == theta);
            return new StepWork(
                $"experts of {string.Join(", ", o.Routing.ExpertFractions.Select(f => Text(f, "0.##")))} of the MLP; θ = {Text(theta, "0.##")} is the cheapest within {Text(o.LossBudget, "P0")} of dense"
                    + (chosen is null ? "" : $" ({Text(chosen.ComputeFraction, "P0")} of the dense MLP compute)"),
                Tokens(run),
                [
                    new InvariantCheck("θ = 1 equals the dense model", exact, exact ? "logits equal bit for bit" : "logits differ"),
                    new InvariantCheck("MLP compute grows with θ", monotone, string.Join(" ≤ ", sweep.OrderBy(p => p.Theta).Select(p => Text(p.ActiveFraction, "0.00")))),
                ],
                pick is null ? [$"no θ of the sweep stayed within the loss budget, so θ = 1 (dense) was kept"] : []);
        }
        catch
        {
            if (!ReferenceEquals(state.Routed, routed)) routed.Dispose();
            throw;
        }
    }

    static StepWork Cluster(PipelineState state, PipelineContext context)
    {
        var o = context.Options;
        RoutingPoint? routedBefore = null;
        Tensor? expertsBefore = null;
        var (x, _) = PipelineProbes.Windows(context.Corpus, state.Target.Config, o.AgreementWindows);
        using var windows = x;
        if (state.Routed is { } routed)
        {
            routedBefore = RoutingEvaluation.Evaluate(routed, context.Corpus, ExpertChoice.AtTheta(state.Theta!.Value), o.EvalBatches);
            using (no_grad())
            using (var output = routed.Run(x, ExpertChoice.AtTheta(state.Theta!.Value)))
                expertsBefore = output.Experts.detach().clone();
        }
        if (state.Draft is { } draftBefore) RecordFit(context, state, new ModelDrafter(draftBefore, "draft model"), draftBefore, "target before clustering");
        context.Stage?.Invoke($"Fine-tuning with {o.Bits}-bit DKM clustering (eDKM storage)…");
        var training = Fit(o.ClusterTraining, state.Target.Config);
        long compareTokens = 0;
        foreach (int bits in o.CompareBits.Where(b => b != o.Bits))
        {
            context.Stage?.Invoke($"For comparison: the same fine-tune at {bits} bits on a copy…");
            using var copy = state.Target.Copy();
            var (palettes, copyRun) = ClusterInPlace(copy, bits, training, context);
            using (palettes) context.Interactions.Add(Variant(copy, palettes, bits, context));
            compareTokens += Tokens(copyRun);
        }
        var (palettized, run) = ClusterInPlace(state.Target, o.Bits, training, context);
        state.Palettized?.Dispose();
        state.Palettized = palettized;
        long most = 0;
        foreach (var (_, module) in state.Target.named_modules())
            if (module is TorchSharp.Modules.Linear linear)
                using (var values = linear.weight!.detach().unique().output) most = Math.Max(most, values.numel());
        bool decodes;
        using (no_grad())
        using (var decoded = state.Palettized.ToTinyGpt())
        using (var a = decoded.Forward(x))
        using (var b = state.Target.Forward(x))
            decodes = PipelineProbes.Same(a, b);
        if (state.Routed is { } r && routedBefore is not null && expertsBefore is not null)
        {
            var after = RoutingEvaluation.Evaluate(r, context.Corpus, ExpertChoice.AtTheta(state.Theta!.Value), o.EvalBatches);
            double same;
            using (no_grad())
            using (var output = r.Run(x, ExpertChoice.AtTheta(state.Theta!.Value)))
                same = output.Experts.eq(expertsBefore).to(ScalarType.Float32).mean().item<float>();
            expertsBefore.Dispose();
            context.Interactions.RoutersUnderClustering = new RoutersUnderClustering(state.Theta!.Value, routedBefore.ValidationBits, after.ValidationBits,
                routedBefore.ComputeFraction, after.ComputeFraction, same);
        }
        if (state.Draft is { } draftAfter) RecordFit(context, state, new ModelDrafter(draftAfter, "draft model"), draftAfter, "target after clustering");
        var size = state.Palettized.Size;
        if (o.CompareBits.Count > 0) context.Interactions.Add(Variant(state.Target, state.Palettized, o.Bits, context));
        return new StepWork(
            $"{o.Bits}-bit DKM fine-tune ({run.Steps.Count} steps), palettised: {Text(size.BitsPerPalettizedWeight, "0.00")} bits per clustered weight, tables included",
            Tokens(run) + compareTokens,
            [
                new InvariantCheck($"every clustered layer holds at most {1 << o.Bits} distinct values", most <= 1 << o.Bits, $"most distinct values in one layer: {most}"),
                new InvariantCheck("the palettes decode to the clustered weights exactly", decodes, decodes ? "logits equal bit for bit" : "logits differ"),
            ],
            state.Routed is null ? [] : ["DKM fine-tunes with the dense loss (θ = 1); the routers are kept and read the clustered activations"]);
    }

    /// <summary>
    /// DKM fine-tunes <paramref name="model"/> in place at <paramref name="bits"/> with the step's recipe (eDKM storage),
    /// writes the hard weights in and palettises them; the caller owns the palettes.
    /// </summary>
    static (PalettizedModel Palettes, TrainingRun Run) ClusterInPlace(TinyGpt model, int bits, TrainingOptions training, PipelineContext context)
    {
        var dkm = new DkmOptions { Bits = bits, Temperature = context.Options.ClusterTemperature };
        TrainingRun run;
        using (var store = new SavedTensorStore(new EDkmOptions { Uniquify = true, Deduplicate = true }))
        using (var layers = new ClusteredLayers(model, dkm, store))
        {
            run = ClusteringFineTuning.NewRun(model, context.Corpus, dkm, training);
            if (context.Progress is { } progress) run.Updated += progress;
            ClusteringFineTuning.FineTune(model, context.Corpus, layers, training, run, cancellation: context.Cancellation);
            context.Cancellation.ThrowIfCancellationRequested();
            run.ThrowIfDiverged();
            layers.ApplyHardWeights();
        }
        model.eval();
        return (PalettizedModel.FromClusteredWeights(model, bits), run);
    }

    /// <summary>One row of the bit-width comparison: the clustered model's dense quality and its palettes' file size.</summary>
    static BitWidthVariant Variant(TinyGpt model, PalettizedModel palettes, int bits, PipelineContext context) =>
        new(bits, PipelineProbes.DenseBits(model, context.Corpus, context.Options.EvalBatches), PipelineProbes.PaletteBytes(palettes), palettes.Size.BitsPerPalettizedWeight);

    static StepWork Decode(PipelineState state, PipelineContext context)
    {
        var o = context.Options;
        var config = state.Target.Config;
        var notes = new List<string>();
        var drafters = new List<(Drafter Drafter, TinyGpt? Model)>();
        long tokens = 0;
        string trained = "";
        if (config.Layers >= 2)
        {
            int exit = Math.Max(1, config.Layers / 2);
            int rank = Math.Min(o.AcceleratorRank, config.Dim);
            context.Stage?.Invoke($"Training M2R2 accelerators for exit layer {exit}…");
            var adapters = AcceleratorAdapters.For(state.Target, maxExit: exit, rank: rank, seed: 5);
            try
            {
                var run = AcceleratorTraining.Train(state.Target, adapters, context.Corpus, Fit(o.AcceleratorTraining, config),
                    new AcceleratorOptions { Exits = [exit] }, context.Progress, context.Cancellation);
                context.Cancellation.ThrowIfCancellationRequested();
                run.ThrowIfDiverged();
                tokens = Tokens(run);
                trained = $"M2R2 accelerators (rank {rank}) at exit {exit} trained {run.Steps.Count} steps; ";
            }
            catch
            {
                adapters.Dispose();
                throw;
            }
            state.Adapters?.Dispose();
            (state.Adapters, state.ExitLayer) = (adapters, exit);
            drafters.Add((new SelfDrafter(exit, adapters), null));
        }
        else notes.Add("no M2R2: a one-layer model has no earlier layer to draft from");
        if (state.Draft is { } draft) drafters.Add((new ModelDrafter(draft, "draft model"), draft));
        else notes.Add("no draft model to race: run the draft step before decode");
        if (state.Start.ParameterCount < state.Target.ParameterCount) drafters.Add((new ModelDrafter(state.Start, "start model as draft"), state.Start));
        if (drafters.Count == 0)
        {
            notes.Add("nothing to race, so plain greedy decoding is kept");
            return new StepWork("no drafter for this model; plain greedy decoding kept", 0, [], notes);
        }
        context.Stage?.Invoke("Racing plain greedy decoding against each drafter…");
        var race = SpeculativeExperiments.Race(state.Target, drafters.Select(d => d.Drafter).ToList(), context.Prompts,
            new SpeculationOptions { MaxNewTokens = o.DecodeTokens, Gamma = o.Gamma }, o.DecodeRepeats, cancellation: context.Cancellation);
        context.Interactions.Race = race;
        var best = race.Skip(1).Zip(drafters).Where(p => p.First.SameAsPlain && p.First.SpeedUp > 1).OrderByDescending(p => p.First.SpeedUp)
            .Select(p => (Line: p.First, p.Second.Drafter, p.Second.Model)).FirstOrDefault();
        (state.Decoder, state.DecoderModel) = (best.Drafter, best.Model);
        var (windows, _) = PipelineProbes.Windows(context.Corpus, config, o.AgreementWindows);
        using (windows)
            foreach (var (line, (_, model)) in race.Skip(1).Zip(drafters))
            {
                double agreement = model is null ? double.NaN : PipelineProbes.Agreement(model, state, windows);
                context.Interactions.Add(new DraftFit("final target, in the race", line.Method, TargetName(state), agreement, line.AcceptanceRate, line.SameAsPlain));
            }
        if (state.Routed is not null) notes.Add("decoding runs the dense weights (θ = 1): routed blocks have no KV-cache path, so the routed compute saving shows in the MLP compute column, not in tokens/s");
        notes.Add(best.Drafter is null ? "no drafter beat plain greedy decoding, so plain decoding is kept" : $"kept {best.Drafter.Name}: {Text(best.Line.SpeedUp, "0.00")}× plain greedy decoding of this target");
        return new StepWork(
            trained + "raced " + string.Join(", ", race.Skip(1).Select(l => $"{l.Method} {Text(l.SpeedUp, "0.00")}×")),
            tokens,
            race.Skip(1).Select(l => new InvariantCheck($"{l.Method} equals plain greedy decoding", l.SameAsPlain,
                $"acceptance {Text(l.AcceptanceRate, "P0")}, {Text(l.MeanAcceptedLength, "0.00")} tokens per full pass")).ToList(),
            notes);
    }

    static StepWork Export(PipelineState state, PipelineContext context)
    {
        var o = context.Options;
        var folder = o.ExportFolder ?? Path.Combine(Path.GetTempPath(), $"efficientml-pipeline-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "composed.onnx");
        context.Stage?.Invoke($"Exporting to {path}…");
        long bytes = state.Palettized is { } palettes ? TinyGptOnnx.Export(palettes, path) : TinyGptOnnx.Export(state.Target, path);
        state.OnnxPath = path;
        var (x, y) = PipelineProbes.Windows(context.Corpus, state.Target.Config, o.AgreementWindows);
        double difference, onnxBits, torchBits;
        bool sameText;
        using (x)
        using (y)
        using (var runtime = new OnnxLanguageModel(path))
        using (no_grad())
        {
            using var onnx = runtime.Forward(x);
            using var torch = state.Target.Forward(x);
            difference = (onnx - torch).abs().max().item<float>();
            onnxBits = F.cross_entropy(onnx.reshape(-1, onnx.shape[^1]), y.reshape(-1)).item<float>() / Math.Log(2);
            torchBits = F.cross_entropy(torch.reshape(-1, torch.shape[^1]), y.reshape(-1)).item<float>() / Math.Log(2);
            int tokens = Math.Min(o.DecodeTokens, 16);
            sameText = context.Prompts.All(p => runtime.Generate(p, tokens).SequenceEqual(state.Target.Generate(p, new GenerationOptions { MaxNewTokens = tokens })));
        }
        var notes = new List<string>
        {
            $"on the agreement windows ONNX Runtime scores {Text(onnxBits, "0.0000")} bits per byte, TorchSharp {Text(torchBits, "0.0000")}",
        };
        if (state.Routed is not null) notes.Add("the routers are not exported: the file holds the dense weights (θ = 1), because choosing experts per token needs data-dependent control flow this exporter does not build");
        if (state.Decoder is not null) notes.Add($"{state.DecoderName} is not exported: the graph has no KV-cache inputs, so ONNX Runtime decodes greedily by re-reading the window; the draft model and the target can each be exported on their own");
        return new StepWork(
            $"{(state.Palettized is null ? "float32" : "palettised")} model written to ONNX ({bytes:N0} bytes, opset {TinyGptOnnx.Opset})",
            0,
            [
                new InvariantCheck("ONNX Runtime's logits equal TorchSharp's", difference <= 1e-4, $"max |Δ logit| {Text(difference, "E2")} (≤ 1e-4)"),
                new InvariantCheck("ONNX Runtime decodes the same greedy text", sameText, sameText ? "the same tokens on every prompt" : "the tokens differ"),
            ],
            notes);
    }
}
