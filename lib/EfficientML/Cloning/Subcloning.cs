using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Cloning;

/// <summary>Target sizes of <see cref="Subcloning.Shrink"/>; what is left null keeps the source's value or scales with the width.</summary>
public sealed record SubcloneOptions
{
    /// <summary>Width of the residual stream, d′ (a multiple of the head width); null = unchanged.</summary>
    public int? Dim { get; init; }

    /// <summary>Number of blocks to keep; the first ⌈L′/2⌉ and last ⌊L′/2⌋ are kept (drop from the middle). Null = all.</summary>
    public int? Layers { get; init; }

    /// <summary>Exactly which blocks to keep (0-based, in order); overrides <see cref="Layers"/>.</summary>
    public IReadOnlyList<int>? KeepLayers { get; init; }

    /// <summary>MLP width per block; null = the source's MLP width scaled like the residual width (m · d′/d).</summary>
    public int? MlpDim { get; init; }

    /// <summary>
    /// Multiply each kept weight whose input dimension shrank by √(d_in/d_in′), so activations keep their norms
    /// (reconstructed from the paper's description; turn off to compare). A tied head is rescaled through the final norm.
    /// </summary>
    public bool RescaleInputs { get; init; } = true;
}

/// <summary>A subcloned model and the report of what was kept and why.</summary>
public sealed record SubcloneResult(TinyGpt Model, SubcloneReport Report);

/// <summary>What subcloning measured and kept.</summary>
public sealed record SubcloneReport
{
    /// <summary>Configuration of the source model.</summary>
    public required TinyGptConfig Source { get; init; }
    /// <summary>Configuration of the subcloned model.</summary>
    public required TinyGptConfig Target { get; init; }
    /// <summary>Parameters before and after.</summary>
    public required long ParametersBefore { get; init; }
    /// <summary>Parameters of the subcloned model.</summary>
    public required long ParametersAfter { get; init; }
    /// <summary>Importance of each residual dimension: mean |activation| over the calibration tokens, summed over the embeddings and every block's output.</summary>
    public required double[] Importance { get; init; }
    /// <summary>The same per layer: [layer 0..L][dimension] (0 = embeddings), to see that the ranking barely moves.</summary>
    public required double[][] LayerImportance { get; init; }
    /// <summary>Fraction of each layer's own top-d′ dimensions that are in the kept set (1 = same choice).</summary>
    public required double[] LayerAgreement { get; init; }
    /// <summary>Kept residual dimensions, ascending (the same in every layer).</summary>
    public required int[] KeptDims { get; init; }
    /// <summary>Kept blocks of the source, ascending.</summary>
    public required int[] KeptLayers { get; init; }
    /// <summary>How much each source block changes the residual stream: mean ‖out − in‖ / ‖in‖ on the calibration tokens.</summary>
    public required double[] BlockChange { get; init; }
    /// <summary>Per source block: importance of each key/value group of heads (mean norm of their contribution to the residual).</summary>
    public required double[][] HeadImportance { get; init; }
    /// <summary>Per kept block: kept query heads of the source block, ascending.</summary>
    public required int[][] KeptHeads { get; init; }
    /// <summary>Per source block: importance of each MLP neuron (mean |GELU output| × norm of its output weights).</summary>
    public required double[][] NeuronImportance { get; init; }
    /// <summary>Per kept block: kept MLP neurons of the source block, ascending.</summary>
    public required int[][] KeptNeurons { get; init; }
    /// <summary>Whether input-side rescaling was applied.</summary>
    public required bool Rescaled { get; init; }
    /// <summary>Next-token loss (nats per token) of the source on the evaluation tokens.</summary>
    public required double SourceLoss { get; init; }
    /// <summary>The same for the subcloned model before any training.</summary>
    public required double LossBeforeTraining { get; init; }
    /// <summary>The same for a randomly initialised model of the target size.</summary>
    public required double RandomInitLoss { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"Subcloning: {ParametersBefore:N0} → {ParametersAfter:N0} parameters (d {Source.Dim} → {Target.Dim}, layers {Source.Layers} → {Target.Layers}); " +
        $"loss {SourceLoss:F3} → {LossBeforeTraining:F3} nats before training (random init {RandomInitLoss:F3})";
}

/// <summary>
/// Weight subcloning (Samragh et al., 2023): initialise a smaller transformer from a larger trained one. Residual
/// connections make the important residual dimensions nearly the same in every layer, so one importance ranking
/// (computed once, summed over layers) picks the kept dimensions everywhere; heads and MLP neurons are pruned per
/// block by their own importance; whole blocks are dropped from the middle. See techniques.md §2.
/// </summary>
public static class Subcloning
{
    /// <summary>
    /// Shrinks <paramref name="model"/> to the sizes in <paramref name="options"/>, ranking by activations on
    /// <paramref name="calibration"/> token ids (B, T). Losses in the report are measured on <paramref name="evaluation"/>
    /// (B, T) when given, else on the calibration tokens (each position predicting the next).
    /// </summary>
    /// <remarks><paramref name="cancellation"/> is checked between the stages (ranking, copying, measuring).</remarks>
    public static SubcloneResult Shrink(TinyGpt model, SubcloneOptions options, Tensor calibration, Tensor? evaluation = null, long seed = 1,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(calibration);
        var source = model.Config;
        var target = TargetConfig(source, options);
        var keptLayers = KeptLayers(source.Layers, options);
        if (calibration.dim() != 2 || calibration.shape[1] < 2)
            throw new InvalidSettingsException($"Calibration tokens must be (batch, time) with time ≥ 2; got shape [{string.Join(", ", calibration.shape)}].");

        using var _ = no_grad();
        cancellation.ThrowIfCancellationRequested();
        MemoryBudget.Require(CalibrationBytes(source, calibration.shape[0], calibration.shape[1]),
            $"Ranking on {calibration.shape[0]:N0} windows of {calibration.shape[1]:N0} tokens", "Use fewer calibration windows.");
        var stats = Measure(model, calibration.to(model.Device));
        cancellation.ThrowIfCancellationRequested();
        var keptDims = TopSorted(stats.Importance, target.Dim);
        var keptSet = keptDims.ToHashSet();
        var agreement = stats.LayerImportance.Select(layer => TopSorted(layer, target.Dim).Count(keptSet.Contains) / (double)target.Dim).ToArray();
        int groupsKept = target.KvHeads, groupSize = source.Heads / source.KvHeads;
        var keptHeads = keptLayers.Select(l => TopSorted(stats.HeadImportance[l], groupsKept)
            .SelectMany(g => Enumerable.Range(g * groupSize, groupSize)).ToArray()).ToArray();
        var keptNeurons = keptLayers.Select(l => TopSorted(stats.NeuronImportance[l], target.MlpDim)).ToArray();

        var small = new TinyGpt(target);
        small.to(model.Device);
        using (var scope = NewDisposeScope())
        {
            var dims = Index(keptDims, model.Device);
            double residualScale = options.RescaleInputs ? Math.Sqrt(source.Dim / (double)target.Dim) : 1.0;
            small.wte.weight!.copy_(model.wte.weight!.index_select(1, dims));            // (V, d′)
            small.wpe.weight!.copy_(model.wpe.weight!.index_select(1, dims));
            for (int i = 0; i < keptLayers.Length; i++)
            {
                var (a, b) = (model.blocks[keptLayers[i]], small.blocks[i]);
                var heads = Index(keptHeads[i], model.Device);
                var kvHeads = Index(keptHeads[i].Where(h => h % groupSize == 0).Select(h => h / groupSize).ToArray(), model.Device);
                var q = HeadRows(heads, source.HeadDim, model.Device);
                var kv = HeadRows(kvHeads, source.HeadDim, model.Device);
                var neurons = Index(keptNeurons[i], model.Device);
                double headScale = options.RescaleInputs ? Math.Sqrt(source.Heads / (double)target.Heads) : 1.0;
                double mlpScale = options.RescaleInputs ? Math.Sqrt(source.MlpDim / (double)target.MlpDim) : 1.0;
                CopyNorm(b.ln_1, a.ln_1, dims);
                CopyLinear(b.attn.q_proj, a.attn.q_proj, q, dims, residualScale);       // rows: kept heads; columns: kept dims
                CopyLinear(b.attn.k_proj, a.attn.k_proj, kv, dims, residualScale);
                CopyLinear(b.attn.v_proj, a.attn.v_proj, kv, dims, residualScale);
                CopyLinear(b.attn.o_proj, a.attn.o_proj, dims, q, headScale);           // rows: kept dims; columns: kept heads
                CopyNorm(b.ln_2, a.ln_2, dims);
                CopyLinear(b.mlp.fc, a.mlp.fc, neurons, dims, residualScale);
                CopyLinear(b.mlp.proj, a.mlp.proj, dims, neurons, mlpScale);
            }
            CopyNorm(small.ln_f, model.ln_f, dims);
            if (model.lm_head is null)
            {
                // The tied head is the embedding; scaling it would scale the input too, so scale the final norm (it feeds only the head).
                small.ln_f.weight!.mul_(residualScale);
                small.ln_f.bias!.mul_(residualScale);
            }
            else
            {
                small.lm_head!.weight!.copy_(model.lm_head.weight!.index_select(1, dims).mul(residualScale));
            }
        }
        small.train(model.training);
        if (cancellation.IsCancellationRequested)
        {
            small.Dispose();
            cancellation.ThrowIfCancellationRequested();
        }

        var eval = (evaluation ?? calibration).to(model.Device);
        double Loss(TinyGpt m) => NextTokenLoss(m, eval);
        double randomLoss;
        using (var random = new TinyGpt(target, seed)) { random.to(model.Device); random.eval(); randomLoss = Loss(random); }
        var report = new SubcloneReport
        {
            Source = source, Target = target, ParametersBefore = model.ParameterCount, ParametersAfter = small.ParameterCount,
            Importance = stats.Importance, LayerImportance = stats.LayerImportance, LayerAgreement = agreement,
            KeptDims = keptDims, KeptLayers = keptLayers, BlockChange = stats.BlockChange,
            HeadImportance = stats.HeadImportance, KeptHeads = keptHeads, NeuronImportance = stats.NeuronImportance, KeptNeurons = keptNeurons,
            Rescaled = options.RescaleInputs,
            SourceLoss = Loss(model), LossBeforeTraining = Loss(small), RandomInitLoss = randomLoss,
        };
        return new SubcloneResult(small, report);
    }

    /// <summary>The configuration <paramref name="options"/> asks for, checked against <paramref name="source"/>.</summary>
    public static TinyGptConfig TargetConfig(TinyGptConfig source, SubcloneOptions options)
    {
        int dim = options.Dim ?? source.Dim;
        int headDim = source.HeadDim;
        if (dim <= 0 || dim > source.Dim)
            throw new InvalidSettingsException($"Subcloning keeps a width between 1 and the model's {source.Dim} (got {dim}).");
        if (dim % headDim != 0)
            throw new InvalidSettingsException($"Width {dim} is not a multiple of the head width {headDim}: subcloning keeps whole heads. " +
                $"Choose one of {string.Join(", ", Enumerable.Range(1, source.Heads).Select(h => h * headDim))}.");
        int heads = dim / headDim, groupSize = source.Heads / source.KvHeads;
        if (heads % groupSize != 0)
            throw new InvalidSettingsException($"Width {dim} keeps {heads} heads, but key/value heads are shared by groups of {groupSize}: keep a multiple of {groupSize * headDim}.");
        int layers = KeptLayers(source.Layers, options).Length;
        int mlp = options.MlpDim ?? (int)Math.Max(1, (long)source.MlpDim * dim / source.Dim);
        if (mlp <= 0 || mlp > source.MlpDim)
            throw new InvalidSettingsException($"Subcloning keeps an MLP width between 1 and the model's {source.MlpDim} (got {mlp}).");
        return (source with { Dim = dim, Heads = heads, KvHeads = heads / groupSize, MlpDim = mlp, Layers = layers }).Validate();
    }

    /// <summary>Which source blocks are kept: the given indices, or the first ⌈L′/2⌉ and last ⌊L′/2⌋.</summary>
    public static int[] KeptLayers(int sourceLayers, SubcloneOptions options)
    {
        if (options.KeepLayers is { } keep)
        {
            if (keep.Count == 0) throw new InvalidSettingsException("KeepLayers is empty: keep at least one block.");
            var bad = keep.Where(i => i < 0 || i >= sourceLayers).ToList();
            if (bad.Count > 0)
                throw new InvalidSettingsException($"KeepLayers names block {bad[0]}, but the model has blocks 0..{sourceLayers - 1}.");
            if (keep.Distinct().Count() != keep.Count) throw new InvalidSettingsException("KeepLayers names a block twice.");
            return keep.OrderBy(i => i).ToArray();
        }
        int layers = options.Layers ?? sourceLayers;
        if (layers < 1 || layers > sourceLayers)
            throw new InvalidSettingsException($"Cannot keep {layers} layers of a model that has {sourceLayers}: choose 1..{sourceLayers}.");
        int head = (layers + 1) / 2, tail = layers - head;
        return Enumerable.Range(0, head).Concat(Enumerable.Range(sourceLayers - tail, tail)).ToArray();
    }

    /// <summary>
    /// A generous estimate of the memory one ranking pass needs: per token, the residual stream, each head's contribution to
    /// it and the MLP's hidden activations, and per window the attention weights (all float32).
    /// </summary>
    public static double CalibrationBytes(TinyGptConfig c, long windows, long length) =>
        4.0 * windows * length * (4.0 * c.Dim + (double)c.Heads * c.Dim + 2.0 * c.MlpDim + 2.0 * c.Heads * length);

    sealed record Statistics(double[] Importance, double[][] LayerImportance, double[] BlockChange, double[][] HeadImportance, double[][] NeuronImportance);

    /// <summary>One pass over the calibration tokens, recording residual, head and neuron activations.</summary>
    static Statistics Measure(TinyGpt model, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var c = model.Config;
        var layerImportance = new double[c.Layers + 1][];
        var blockChange = new double[c.Layers];
        var headImportance = new double[c.Layers][];
        var neuronImportance = new double[c.Layers][];
        long b = tokens.shape[0], t = tokens.shape[1];
        var x = model.wte.forward(tokens) + model.wpe.forward(arange(t, dtype: ScalarType.Int64, device: tokens.device));  // (B, T, d)
        layerImportance[0] = MeanAbs(x);
        for (int l = 0; l < c.Layers; l++)
        {
            var block = model.blocks[l];
            var input = x;
            // Attention, head by head: the contribution of head h to the residual is o_proj[:, h] · y_h.
            var h = block.ln_1.forward(x);
            var y = block.attn.HeadOutputs(h).view(b, t, c.Heads, c.HeadDim);          // (B, T, H, hd)
            var wo = block.attn.o_proj.weight!.view(c.Dim, c.Heads, c.HeadDim);         // (d, H, hd)
            var perHead = einsum("bthk,dhk->bthd", y, wo);                               // (B, T, H, d)
            var headNorm = perHead.norm(-1).mean(new long[] { 0, 1 });                   // (H)
            int groupSize = c.Heads / c.KvHeads;
            headImportance[l] = ToArray(headNorm.view(c.KvHeads, groupSize).sum(1));
            x = x + block.attn.o_proj.forward(y.reshape(b, t, c.Heads * c.HeadDim));
            // MLP neurons: mean |GELU output| × norm of the neuron's output weights.
            var a = block.mlp.Activate(block.mlp.fc.forward(block.ln_2.forward(x)));     // (B, T, m)
            var outNorm = block.mlp.proj.weight!.norm(0);                                // (m)
            neuronImportance[l] = ToArray(a.abs().mean(new long[] { 0, 1 }) * outNorm);
            x = x + block.mlp.proj.forward(a);
            blockChange[l] = ((x - input).norm(-1) / input.norm(-1).clamp_min(1e-12)).mean().item<float>();
            layerImportance[l + 1] = MeanAbs(x);
        }
        var importance = new double[c.Dim];
        foreach (var layer in layerImportance)
            for (int i = 0; i < c.Dim; i++) importance[i] += layer[i];
        return new Statistics(importance, layerImportance, blockChange, headImportance, neuronImportance);
    }

    static double[] MeanAbs(Tensor x) => ToArray(x.abs().mean(new long[] { 0, 1 }));

    static double[] ToArray(Tensor t) => t.to_type(ScalarType.Float64).cpu().data<double>().ToArray();

    /// <summary>Indices of the <paramref name="count"/> largest values, ascending (ties: lower index first).</summary>
    static int[] TopSorted(double[] values, int count) =>
        values.Select((v, i) => (v, i)).OrderByDescending(p => p.v).ThenBy(p => p.i).Take(count).Select(p => p.i).Order().ToArray();

    static Tensor Index(int[] indices, Device device) => tensor(indices.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: device);

    /// <summary>Rows of a projection that belong to the given heads: head h owns rows h·hd .. h·hd+hd−1.</summary>
    static Tensor HeadRows(Tensor heads, int headDim, Device device) =>
        (heads.unsqueeze(1) * headDim + arange(headDim, dtype: ScalarType.Int64, device: device)).reshape(-1);

    static void CopyLinear(TorchSharp.Modules.Linear target, TorchSharp.Modules.Linear source, Tensor rows, Tensor columns, double inputScale)
    {
        var w = source.weight!.index_select(0, rows).index_select(1, columns);
        target.weight!.copy_(inputScale == 1.0 ? w : w.mul(inputScale));
        if (source.bias is not null) target.bias!.copy_(source.bias.index_select(0, rows));
    }

    static void CopyNorm(TorchSharp.Modules.LayerNorm target, TorchSharp.Modules.LayerNorm source, Tensor dims)
    {
        target.weight!.copy_(source.weight!.index_select(0, dims));
        target.bias!.copy_(source.bias!.index_select(0, dims));
    }

    static double NextTokenLoss(TinyGpt model, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        bool training = model.training;
        model.eval();
        try
        {
            long t = Math.Min(tokens.shape[1], model.Config.ContextLength + 1);
            var x = tokens.narrow(1, 0, t - 1);
            var y = tokens.narrow(1, 1, t - 1);
            return model.Loss(x, y).item<float>();
        }
        finally { model.train(training); }
    }
}
