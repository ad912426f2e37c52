using EfficientML.Core;
using EfficientML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Cloning;

/// <summary>Settings of <see cref="HyperCloning.Expand(TinyGpt, int, HyperCloneOptions?, CancellationToken)"/>.</summary>
public sealed record HyperCloneOptions
{
    /// <summary>
    /// Symmetry breaking: signal-to-noise ratio in dB of the noise added to one copy of each divided weight block and
    /// subtracted from the others (the copies' sum, and so the function, is unchanged). Null = exact copies.
    /// The paper used about 10 dB.
    /// </summary>
    public double? NoiseSnrDb { get; init; }

    /// <summary>Seed of the noise.</summary>
    public long Seed { get; init; } = 1234;

    /// <summary>Token ids (B, T) on which the report compares the two models; null = a seeded random batch of 2 × 64.</summary>
    public Tensor? Probe { get; init; }
}

/// <summary>A grown model and the report that shows it computes what the source computed.</summary>
public sealed record HyperCloneResult(TinyGpt Model, CloneReport Report);

/// <summary>How much one layer's residual stream in the grown model differs from n copies of the source's.</summary>
/// <param name="Layer">0 = embeddings, l = after block l.</param>
/// <param name="MaxAbsDifference">max |h' − tile(h)| over the probe.</param>
/// <param name="Scale">max |h| of the source there, for a relative reading.</param>
public sealed record LayerDifference(int Layer, double MaxAbsDifference, double Scale);

/// <summary>What HyperCloning did: sizes before and after, and the function-preservation check on a probe batch.</summary>
public sealed record CloneReport
{
    /// <summary>Integer width factor n.</summary>
    public required int WidthFactor { get; init; }
    /// <summary>Configuration of the source model.</summary>
    public required TinyGptConfig Source { get; init; }
    /// <summary>Configuration of the grown model.</summary>
    public required TinyGptConfig Target { get; init; }
    /// <summary>Parameters of the source model.</summary>
    public required long ParametersBefore { get; init; }
    /// <summary>Parameters of the grown model.</summary>
    public required long ParametersAfter { get; init; }
    /// <summary>Noise level used for symmetry breaking (null = none).</summary>
    public double? NoiseSnrDb { get; init; }
    /// <summary>Shape of the probe batch (B, T).</summary>
    public required long[] ProbeShape { get; init; }
    /// <summary>max |logits' − logits| over the probe.</summary>
    public required double MaxLogitDifference { get; init; }
    /// <summary><see cref="MaxLogitDifference"/> divided by max |logits|.</summary>
    public required double RelativeLogitDifference { get; init; }
    /// <summary>Residual-stream difference per layer (embeddings, then each block).</summary>
    public required IReadOnlyList<LayerDifference> Layers { get; init; }

    /// <summary>The invariant the technique promises (max |Δ| ≤ 1e-4 in float32).</summary>
    public bool PreservesFunction => MaxLogitDifference <= 1e-4;

    /// <inheritdoc />
    public override string ToString() =>
        $"HyperCloning ×{WidthFactor}: {ParametersBefore:N0} → {ParametersAfter:N0} parameters; " +
        $"max |Δlogit| {MaxLogitDifference:G3} (relative {RelativeLogitDifference:G3})" + (NoiseSnrDb is double s ? $", noise {s:G3} dB" : "");
}

/// <summary>
/// HyperCloning (Samragh et al., 2024): grow a trained model n× wider so that it computes exactly the same function,
/// then keep training it. The residual stream becomes n copies of the old one; each linear layer's weight is tiled
/// n × n and divided by n where its input side was widened (n copies of the same input, each seen with weight 1/n,
/// add up to the old output); whole attention heads are duplicated; norms see a tiled vector with the same mean and
/// variance. See techniques.md §1.
/// </summary>
public static class HyperCloning
{
    /// <summary>
    /// Returns a model with every width (residual, heads, key/value heads, MLP) multiplied by <paramref name="widthFactor"/>
    /// and head width unchanged, initialised so its logits equal <paramref name="model"/>'s, plus a report that checks it.
    /// </summary>
    /// <remarks><paramref name="cancellation"/> is checked between layers; a cancelled expansion frees what it built.</remarks>
    public static HyperCloneResult Expand(TinyGpt model, int widthFactor, HyperCloneOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new HyperCloneOptions();
        CheckFactor(widthFactor);
        if (options.NoiseSnrDb is double snr && !double.IsFinite(snr))
            throw new InvalidSettingsException($"NoiseSnrDb must be a finite number of decibels (got {snr}); use null for no noise, about 10 for the paper's setting.");
        int n = widthFactor;
        var source = model.Config;
        var target = GrownConfig(source, n);
        cancellation.ThrowIfCancellationRequested();
        var grown = new TinyGpt(target);
        try
        {
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var noise = options.NoiseSnrDb is double db ? Seeding.Generator(options.Seed) : null;
            grown.to(model.Device);
            Copy(grown.wte.weight!, model.wte.weight!.repeat(1, n));                   // (V, n·d): columns tiled, not divided
            Copy(grown.wpe.weight!, model.wpe.weight!.repeat(1, n));
            for (int l = 0; l < source.Layers; l++)
            {
                cancellation.ThrowIfCancellationRequested();
                var (a, b) = (model.blocks[l], grown.blocks[l]);
                CopyNorm(b.ln_1, a.ln_1, n);
                CopyLinear(b.attn.q_proj, a.attn.q_proj, n, noise, options.NoiseSnrDb);   // heads tiled: head h' copies h' mod H
                CopyLinear(b.attn.k_proj, a.attn.k_proj, n, noise, options.NoiseSnrDb);   // key/value heads likewise (GQA groups line up)
                CopyLinear(b.attn.v_proj, a.attn.v_proj, n, noise, options.NoiseSnrDb);
                CopyLinear(b.attn.o_proj, a.attn.o_proj, n, noise, options.NoiseSnrDb);
                CopyNorm(b.ln_2, a.ln_2, n);
                CopyLinear(b.mlp.fc, a.mlp.fc, n, noise, options.NoiseSnrDb);
                CopyLinear(b.mlp.proj, a.mlp.proj, n, noise, options.NoiseSnrDb);
            }
            CopyNorm(grown.ln_f, model.ln_f, n);
            if (model.lm_head is null)
            {
                // A tied head reads wte' = n column copies of wte, so it would sum n equal terms; dividing the final
                // norm's output by n (it feeds only the head) divides the logits back without untying the embedding.
                grown.ln_f.weight!.div_(n);
                grown.ln_f.bias!.div_(n);
            }
            else
            {
                Copy(grown.lm_head!.weight!, Widen(model.lm_head.weight!, 1, n, noise, options.NoiseSnrDb));
            }
            noise?.Dispose();
        }
        cancellation.ThrowIfCancellationRequested();
        }
        catch
        {
            grown.Dispose();
            throw;
        }
        grown.train(model.training);
        var report = Check(model, grown, n, options);
        return new HyperCloneResult(grown, report);
    }

    /// <summary>The configuration HyperCloning grows <paramref name="source"/> into.</summary>
    public static TinyGptConfig GrownConfig(TinyGptConfig source, int widthFactor)
    {
        CheckFactor(widthFactor);
        int Grow(int size, string name) => (long)size * widthFactor <= TinyGptConfig.MaxSize ? size * widthFactor
            : throw new InvalidSettingsException($"A width factor of {widthFactor} makes {name} {(long)size * widthFactor:N0}, more than the {TinyGptConfig.MaxSize:N0} a TinyGpt may have: use a smaller factor.");
        return (source with
        {
            Dim = Grow(source.Dim, nameof(source.Dim)),
            Heads = Grow(source.Heads, nameof(source.Heads)),
            KvHeads = Grow(source.KvHeads, nameof(source.KvHeads)),
            MlpDim = Grow(source.MlpDim, nameof(source.MlpDim)),
        }).Validate();
    }

    /// <summary>Overload for a factor given as a number: anything but an integer ≥ 2 is refused with the reason.</summary>
    public static HyperCloneResult Expand(TinyGpt model, double widthFactor, HyperCloneOptions? options = null)
    {
        if (!double.IsFinite(widthFactor) || widthFactor != Math.Floor(widthFactor) || widthFactor < 2 || widthFactor > int.MaxValue)
            throw new InvalidSettingsException($"HyperCloning needs an integer width factor of 2 or more (got {widthFactor:G}): the weights are tiled whole copies. Use 2, 3 or 4.");
        return Expand(model, (int)widthFactor, options);
    }

    static void CheckFactor(int widthFactor)
    {
        if (widthFactor < 2)
            throw new InvalidSettingsException($"HyperCloning needs an integer width factor of 2 or more (got {widthFactor}): 1 would copy the model unchanged. Use 2, 3 or 4.");
    }

    /// <summary>
    /// One linear layer with both sides widened n times: W' = tile(W, n × n) / n, bias tiled (not divided).
    /// <paramref name="outFactor"/> and <paramref name="inFactor"/> say which sides widen (1 = unchanged); the division is by the input factor only.
    /// With a noise level, each output block's n input copies get zero-sum noise, so their sum over identical inputs is unchanged.
    /// </summary>
    public static Tensor Widen(Tensor weight, int outFactor, int inFactor, Generator? noise = null, double? snrDb = null)
    {
        var w = weight.repeat(outFactor, inFactor).div(inFactor);                      // (n·out, n·in)
        if (noise is null || snrDb is not double db || inFactor < 2) return w;
        long rows = weight.shape[0], cols = weight.shape[1];
        var block = weight.div(inFactor);
        double signalRms = block.square().mean().sqrt().item<float>();
        double noiseStd = signalRms / Math.Pow(10, db / 20);
        // (n·out, n, in): noise per input copy, centred over the copies so each output sees the same sum.
        var eps = randn(new long[] { outFactor * rows, inFactor, cols }, generator: noise, dtype: weight.dtype).to(weight.device);
        eps = eps - eps.mean(new long[] { 1 }, keepdim: true);
        eps = eps * (noiseStd * Math.Sqrt(inFactor / (inFactor - 1.0)));              // centring shrank the variance by (n-1)/n
        return w + eps.reshape(outFactor * rows, inFactor * cols);
    }

    static void CopyLinear(TorchSharp.Modules.Linear target, TorchSharp.Modules.Linear source, int n, Generator? noise, double? snrDb)
    {
        Copy(target.weight!, Widen(source.weight!, n, n, noise, snrDb));
        if (source.bias is not null) Copy(target.bias!, source.bias.repeat(n));
    }

    static void CopyNorm(TorchSharp.Modules.LayerNorm target, TorchSharp.Modules.LayerNorm source, int n)
    {
        Copy(target.weight!, source.weight!.repeat(n));                                // mean and variance of a tiled vector are unchanged
        Copy(target.bias!, source.bias!.repeat(n));
    }

    static void Copy(Tensor target, Tensor value)
    {
        if (!target.shape.SequenceEqual(value.shape))
            throw new InvalidOperationException($"Internal shape mismatch: [{string.Join(", ", value.shape)}] into [{string.Join(", ", target.shape)}].");
        target.copy_(value);
    }

    /// <summary>Runs both models on the probe and compares logits and every layer's residual stream.</summary>
    static CloneReport Check(TinyGpt source, TinyGpt grown, int n, HyperCloneOptions options)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var probe = options.Probe ?? DefaultProbe(source.Config, source.Device);
        var small = source.HiddenStates(probe);                                        // (L+1, B, T, d)
        var big = grown.HiddenStates(probe);                                           // (L+1, B, T, n·d)
        var layers = new List<LayerDifference>();
        for (int l = 0; l < small.shape[0]; l++)
        {
            var diff = (big[l] - small[l].repeat(1, 1, n)).abs().max().item<float>();
            layers.Add(new LayerDifference(l, diff, small[l].abs().max().item<float>()));
        }
        var logits = source.Forward(probe);
        var logitsGrown = grown.Forward(probe);
        double maxDiff = (logitsGrown - logits).abs().max().item<float>();
        double scale = logits.abs().max().item<float>();
        return new CloneReport
        {
            WidthFactor = n, Source = source.Config, Target = grown.Config,
            ParametersBefore = source.ParameterCount, ParametersAfter = grown.ParameterCount,
            NoiseSnrDb = options.NoiseSnrDb, ProbeShape = probe.shape,
            MaxLogitDifference = maxDiff, RelativeLogitDifference = scale > 0 ? maxDiff / scale : maxDiff,
            Layers = layers,
        };
    }

    static Tensor DefaultProbe(TinyGptConfig config, Device device)
    {
        using var g = Seeding.Generator(4321);
        return randint(config.VocabSize, new long[] { 2, Math.Min(64, config.ContextLength) }, generator: g, dtype: ScalarType.Int64).to(device);
    }
}
