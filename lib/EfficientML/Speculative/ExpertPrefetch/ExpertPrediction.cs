using EfficientML.Core;
using EfficientML.Routing;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>
/// Training data and training of an <see cref="ExpertPredictor"/>: one routed pass at sensitivity θ gives both the labels
/// (the experts every block used) and the input (the state after <see cref="ExpertPredictor.FromLayer"/> blocks of that
/// same pass, or the M2R2 fast state built from it).
/// </summary>
public static class ExpertPrediction
{
    /// <summary>
    /// Runs <paramref name="routed"/> on token ids (B, T) with its routers at <paramref name="theta"/> (exactly as
    /// <see cref="RoutedGpt.Run"/> does) and returns the experts of every block, (L, B, T) int64, and the residual states
    /// after 0 … <paramref name="upTo"/> blocks, (upTo + 1, B, T, C), index 0 = embeddings.
    /// </summary>
    public static (Tensor Experts, Tensor States) Capture(RoutedGpt routed, Tensor idx, double theta, int upTo)
    {
        ArgumentNullException.ThrowIfNull(routed);
        Router.CheckTheta(theta);
        int layers = routed.Config.Layers;
        if (upTo < 0 || upTo > layers) throw new InvalidSettingsException($"Can capture the states after 0..{layers} blocks, not {upTo}.");
        var model = routed.model;
        var experts = new Tensor[layers];
        var states = new List<Tensor>();
        Tensor? residual = null;
        using var scope = NewDisposeScope();
        var x = RoutedGpt.Embed(model, idx);
        states.Add(x);
        RoutedGpt.RunBlocks(model, x, 0, (l, input) =>
        {
            experts[l] = Router.Choose(routed.routers[l].forward(input.detach()), theta);
            var output = NestedExperts.Grouped(model.blocks[l].mlp, input, experts[l], routed.Sizes);
            if (l < upTo) states.Add(residual! + output);
            return output;
        }, (_, before, _) => residual = before);
        return (stack(experts).MoveToOuterDisposeScope(), stack(states).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The predictor's input after <paramref name="fromLayer"/> blocks from captured slow states (at least fromLayer + 1 of
    /// them): the slow state itself, or with <paramref name="adapters"/> the fast state h_k + Σ_{i&lt;k} A_i(h_{i+1}).
    /// </summary>
    public static Tensor Input(Tensor states, int fromLayer, AcceleratorAdapters? adapters)
    {
        if (states.shape[0] <= fromLayer)
            throw new InvalidSettingsException($"States after 0..{states.shape[0] - 1} blocks cannot give the state after {fromLayer}; capture up to {fromLayer}.");
        if (adapters is null) return states[fromLayer];
        var taps = Enumerable.Range(0, fromLayer + 1).Select(i => states[i]).ToArray();
        return adapters.Fast(taps, fromLayer);
    }

    /// <summary>
    /// Trains <paramref name="predictor"/> on <paramref name="corpus"/>'s training split to name the experts
    /// <paramref name="routed"/> (frozen) uses at <paramref name="theta"/>, reading the slow state, or the fast state of
    /// <paramref name="adapters"/> (trained on <c>routed.model</c>) when given. The validation value is the same loss on the
    /// validation split.
    /// </summary>
    public static TrainingRun Train(ExpertPredictor predictor, RoutedGpt routed, double theta, TextCorpus corpus, TrainingOptions training,
        AcceleratorAdapters? adapters = null, Action<TrainingRun>? progress = null, CancellationToken cancellation = default)
    {
        Check(predictor, routed, adapters);
        Router.CheckTheta(theta);
        training = training.Validate();
        if (training.BlockSize > routed.Config.ContextLength)
            throw new InvalidSettingsException($"Blocks of {training.BlockSize} tokens exceed the model's context {routed.Config.ContextLength}: lower BlockSize.");
        using var generator = Seeding.Generator(training.Seed);
        using var evalMode = new EvalMode(routed);
        adapters?.eval();
        Tensor Loss(Tensor x)
        {
            Tensor input, experts;
            using (no_grad())
            {
                (experts, var states) = Capture(routed, x, theta, predictor.FromLayer);
                input = Input(states, predictor.FromLayer, adapters);
            }
            return predictor.Loss(input, experts);
        }
        var name = adapters is null ? "expert predictor (slow state)" : "expert predictor (fast state)";
        var run = new TrainingRun(name, training, (long)training.BatchSize * training.BlockSize);
        return Trainer.Run(predictor, _ =>
        {
            var (x, _) = corpus.SampleBatch(Split.Train, training.BatchSize, training.BlockSize, generator, routed.Device);
            return Loss(x);
        }, run, () => BatchStatistics.MeanLoss(
            corpus.EvaluationBatches(Split.Validation, training.BatchSize, training.BlockSize, training.EvalBatches, routed.Device),
            (x, _) => Loss(x)), progress, cancellation);
    }

    /// <summary>
    /// The most frequent expert of every block at <paramref name="theta"/> on <paramref name="batches"/> training windows
    /// (ties: the smaller expert): the trivial predictor that always fetches the same experts.
    /// </summary>
    public static int[] MostFrequent(RoutedGpt routed, TextCorpus corpus, double theta, int batches = 4, int batchSize = 8, int blockSize = 128)
    {
        ArgumentNullException.ThrowIfNull(routed);
        int layers = routed.Config.Layers, k = routed.Sizes.Count;
        var counts = new long[layers, k];
        using var _ = no_grad();
        foreach (var (x, _) in corpus.EvaluationBatches(Split.Train, batchSize, Math.Min(blockSize, routed.Config.ContextLength), batches, routed.Device))
        {
            using var scope = NewDisposeScope();
            var (experts, _) = Capture(routed, x, theta, 0);
            var flat = experts.reshape(layers, -1).cpu().data<long>().ToArray();
            long perLayer = flat.Length / layers;
            for (int l = 0; l < layers; l++)
                for (long i = 0; i < perLayer; i++) counts[l, flat[l * perLayer + i]]++;
        }
        return Enumerable.Range(0, layers).Select(l =>
        {
            int best = 0;
            for (int j = 1; j < k; j++) if (counts[l, j] > counts[l, best]) best = j;
            return best;
        }).ToArray();
    }

    /// <summary>
    /// Runs <paramref name="routed"/> at <paramref name="theta"/> over up to <paramref name="batches"/> batches of consecutive
    /// validation windows (so the tokens, in order, are the validation text) and records the experts every block used and
    /// what each predictor named: <paramref name="slow"/> on the slow state, <paramref name="fast"/> on the fast state of
    /// <paramref name="adapters"/> (both or neither), the same expert as the block before the state, and
    /// <paramref name="mostFrequent"/> per block (from <see cref="MostFrequent"/>).
    /// </summary>
    public static ExpertTraces Collect(RoutedGpt routed, TextCorpus corpus, double theta, ExpertPredictor slow, ExpertPredictor? fast,
        AcceleratorAdapters? adapters, IReadOnlyList<int> mostFrequent, int batches = 2, int batchSize = 8, int blockSize = 128)
    {
        Check(slow, routed, null);
        if ((fast is null) != (adapters is null))
            throw new InvalidSettingsException("Give the fast-state predictor together with the accelerators it reads (or neither).");
        if (fast is not null)
        {
            Check(fast, routed, adapters);
            if (fast.FromLayer != slow.FromLayer)
                throw new InvalidSettingsException($"Both predictors must read the same layer (slow: {slow.FromLayer}, fast: {fast.FromLayer}).");
        }
        int layers = routed.Config.Layers, k = slow.FromLayer;
        if (mostFrequent.Count != layers || mostFrequent.Any(e => e < 0 || e >= routed.Sizes.Count))
            throw new InvalidSettingsException($"Give one most frequent expert per layer ({layers}), each in 0..{routed.Sizes.Count - 1}.");
        var columns = new List<(long[] Experts, long[] Slow, long[]? Fast, int Tokens)>();
        using var evalMode = new EvalMode(routed);
        slow.eval();
        fast?.eval();
        adapters?.eval();
        using var _ = no_grad();
        foreach (var (x, _) in corpus.EvaluationBatches(Split.Validation, batchSize, Math.Min(blockSize, routed.Config.ContextLength), batches, routed.Device))
        {
            using var scope = NewDisposeScope();
            var (experts, states) = Capture(routed, x, theta, k);
            long[] Flat(Tensor t) => t.reshape(t.shape[0], -1).cpu().data<long>().ToArray();
            columns.Add((Flat(experts), Flat(slow.Predict(Input(states, k, null))),
                fast is null ? null : Flat(fast.Predict(Input(states, k, adapters))), (int)x.numel()));
        }
        int tokens = columns.Sum(c => c.Tokens);
        if (tokens == 0) throw new InvalidSettingsException("The corpus' validation split is shorter than one block; use a longer text or a smaller block.");
        var trace = new int[layers, tokens];
        var slowTrace = new int[layers, tokens];
        var fastTrace = fast is null ? null : new int[layers, tokens];
        var same = new int[layers, tokens];
        var frequent = new int[layers, tokens];
        int offset = 0;
        foreach (var (e, s, f, n) in columns)
        {
            for (int t = 0; t < n; t++)
                for (int l = 0; l < layers; l++)
                {
                    trace[l, offset + t] = (int)e[l * n + t];
                    frequent[l, offset + t] = mostFrequent[l];
                    if (l < k) continue;
                    slowTrace[l, offset + t] = (int)s[(l - k) * n + t];
                    if (fastTrace is not null) fastTrace[l, offset + t] = (int)f![(l - k) * n + t];
                }
            offset += n;
        }
        for (int t = 0; t < tokens; t++)
            for (int l = k; l < layers; l++) same[l, t] = trace[k - 1, t];
        return new ExpertTraces(routed.Sizes, k, trace, slowTrace, fastTrace, same, frequent);
    }

    static void Check(ExpertPredictor predictor, RoutedGpt routed, AcceleratorAdapters? adapters)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(routed);
        if (predictor.Layers != routed.Config.Layers || predictor.Dim != routed.Config.Dim || predictor.Experts != routed.Sizes.Count)
            throw new InvalidSettingsException($"The predictor was made for {predictor.Layers} layers of width {predictor.Dim} with {predictor.Experts} experts; the routed model has " +
                $"{routed.Config.Layers} layers of width {routed.Config.Dim} with {routed.Sizes.Count}: make it with ExpertPredictor.For(routed, fromLayer).");
        adapters?.CheckFor(routed.Config, predictor.FromLayer);
    }
}
