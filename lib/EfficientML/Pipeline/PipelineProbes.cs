using EfficientML.Core;
using EfficientML.Models;
using EfficientML.Routing;
using EfficientML.Speculative;
using EfficientML.Text;
using static TorchSharp.torch;

namespace EfficientML.Pipeline;

/// <summary>
/// The measurements the pipeline repeats after every step, each on the same validation windows and prompts: quality,
/// size, compute, greedy agreement of a draft, and decoding speed against the starting model's.
/// </summary>
public static class PipelineProbes
{
    /// <summary>
    /// Validation bits per byte of the target and its MLP multiply-adds per token: routed at <see cref="PipelineState.Theta"/>
    /// (routers included) once routed, else dense.
    /// </summary>
    public static (double Bits, double MlpMultiplyAdds) Quality(PipelineState state, TextCorpus corpus, int evalBatches)
    {
        if (state.Routed is not { } routed) return (DenseBits(state.Target, corpus, evalBatches), DenseMlpMultiplyAdds(state.Target.Config));
        var point = RoutingEvaluation.Evaluate(routed, corpus, ExpertChoice.AtTheta(state.Theta!.Value), evalBatches);
        return (point.ValidationBits, point.MlpMultiplyAdds + point.RouterMultiplyAdds);
    }

    /// <summary>Validation bits per byte of <paramref name="model"/> run dense, on the pipeline's windows.</summary>
    public static double DenseBits(TinyGpt model, TextCorpus corpus, int evalBatches) =>
        LanguageModelTraining.Evaluate(model, corpus, Split.Validation, batchSize: 16, blockSize: model.Config.ContextLength, maxBatches: evalBatches) / Math.Log(2);

    /// <summary>MLP multiply-adds per token of a dense model: two matrices of Dim × MlpDim per layer.</summary>
    public static double DenseMlpMultiplyAdds(TinyGptConfig config) => config.Layers * 2.0 * config.Dim * config.MlpDim;

    /// <summary>The first <paramref name="windows"/> validation windows of the context length (B, T) and their next bytes.</summary>
    public static (Tensor X, Tensor Y) Windows(TextCorpus corpus, TinyGptConfig config, int windows)
    {
        var (x, y) = corpus.EvaluationBatches(Split.Validation, windows, config.ContextLength, 1, CPU).First();
        return (x, y);
    }

    /// <summary>The target's logits (B, T, V) on <paramref name="x"/>: routed at the picked θ once routed.</summary>
    public static Tensor TargetLogits(PipelineState state, Tensor x)
    {
        using var _ = no_grad();
        if (state.Routed is not { } routed) return state.Target.Forward(x);
        var output = routed.Run(x, ExpertChoice.AtTheta(state.Theta!.Value));
        output.Experts.Dispose();
        output.RouterLogits?.Dispose();
        return output.Logits;
    }

    /// <summary>Share of positions where the greedy choices of two sets of logits (B, T, V) agree.</summary>
    public static double Agreement(Tensor draftLogits, Tensor targetLogits)
    {
        using var scope = NewDisposeScope();
        return draftLogits.argmax(-1).eq(targetLogits.argmax(-1)).to(ScalarType.Float32).mean().item<float>();
    }

    /// <summary>Whether two tensors have the same shape and the same values, bit for bit.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var equal = a.eq(b).all();
        return equal.item<bool>();
    }

    /// <summary>Greedy agreement of <paramref name="draft"/> with the target on <paramref name="x"/>.</summary>
    public static double Agreement(TinyGpt draft, PipelineState state, Tensor x)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return Agreement(draft.Forward(x), TargetLogits(state, x));
    }

    /// <summary>
    /// Measurement prompts: <paramref name="count"/> validation passages, cut to half the context so prompt and new
    /// tokens fit in one window of the smallest models.
    /// </summary>
    public static IReadOnlyList<int[]> Prompts(TextCorpus corpus, TinyGptConfig config, int count) =>
        SpeculativeExperiments.Prompts(corpus, count).Select(p => p.TakeLast(Math.Max(1, config.ContextLength / 2)).ToArray()).ToList();

    /// <summary>
    /// Decodes the prompts with the state's decoder and with plain greedy decoding of the starting model, in turn for
    /// <paramref name="repeats"/> repeats after one warm-up; returns the decoder's tokens per second (median) and its
    /// speed over the starting model's (ratio of the medians). Routed targets decode their dense weights (routed blocks have no KV-cache path).
    /// </summary>
    public static (double TokensPerSecond, double SpeedUp) DecodeSpeed(PipelineState state, IReadOnlyList<int[]> prompts, int tokens, int gamma, int repeats,
        CancellationToken cancellation = default)
    {
        var plain = new GenerationOptions { MaxNewTokens = tokens };
        var speculation = new SpeculationOptions { MaxNewTokens = tokens, Gamma = gamma };
        var decoder = state.Decoder is null ? null : new SpeculativeDecoder(state.Target, state.Decoder);
        Action start = () => { foreach (var p in prompts) state.Start.Generate(p, plain, cancellation: cancellation); };
        Action deployed = decoder is null
            ? () => { foreach (var p in prompts) state.Target.Generate(p, plain, cancellation: cancellation); }
            : () => { foreach (var p in prompts) decoder.Generate(p, speculation, cancellation: cancellation); };
        var ms = Latency.Medians([start, deployed], repeats, warmup: 1, cancellation);
        return (prompts.Count * (double)tokens / (ms[1] / 1000), ms[0] / ms[1]);
    }

    /// <summary>Real greedy speculative decoding of the prompts by <paramref name="target"/> with <paramref name="drafter"/>: acceptance, and whether it equalled plain greedy.</summary>
    public static (double AcceptanceRate, bool SameAsPlain) Acceptance(TinyGpt target, Drafter drafter, IReadOnlyList<int[]> prompts, int tokens, int gamma,
        CancellationToken cancellation = default)
    {
        var decoder = new SpeculativeDecoder(target, drafter);
        long drafted = 0, accepted = 0;
        bool same = true;
        foreach (var p in prompts)
        {
            var result = decoder.Generate(p, new SpeculationOptions { MaxNewTokens = tokens, Gamma = gamma }, cancellation: cancellation);
            drafted += result.Rounds.Sum(r => r.Drafted);
            accepted += result.Rounds.Sum(r => r.Accepted);
            same &= result.Tokens.SequenceEqual(target.Generate(p, new GenerationOptions { MaxNewTokens = tokens }, cancellation: cancellation));
        }
        return (drafted == 0 ? 0 : (double)accepted / drafted, same);
    }

    /// <summary>Bytes of the file <paramref name="save"/> writes to a temporary path ending in <paramref name="extension"/> (deleted after).</summary>
    static long SavedBytes(string extension, Action<string> save)
    {
        var path = Path.Combine(Path.GetTempPath(), $"efficientml-size-{Guid.NewGuid():N}{extension}");
        try
        {
            save(path);
            return new FileInfo(path).Length;
        }
        finally { File.Delete(path); }
    }

    /// <summary>Bytes of <paramref name="palettes"/> saved as a palettised model file.</summary>
    public static long PaletteBytes(Clustering.PalettizedModel palettes) => SavedBytes(".palettized", path => palettes.Save(path));

    static long ModelBytes(TinyGpt model) => SavedBytes(".safetensors", path => model.Save(path));

    static long CheckpointBytes(nn.Module module) => SavedBytes(".safetensors", path => Checkpoint.Save(module, path));

    /// <summary>Bytes and parameters of everything the deployed model needs: target (or its palettes), routers, draft or accelerators.</summary>
    public static (long Bytes, long Parameters) Footprint(PipelineState state)
    {
        long bytes, parameters = state.Target.ParameterCount;
        bytes = state.Palettized is { } palettes ? PaletteBytes(palettes) : ModelBytes(state.Target);
        if (state.Routed is { } routed)
        {
            bytes += CheckpointBytes(routed.routers);
            parameters += routed.routers.parameters().Sum(p => p.numel());
        }
        if (state.DecoderModel is { } draft)
        {
            bytes += ModelBytes(draft);
            parameters += draft.ParameterCount;
        }
        else if (state.Decoder is SelfDrafter && state.Adapters is { } adapters)
        {
            bytes += CheckpointBytes(adapters);
            parameters += adapters.ParametersUpTo(state.ExitLayer ?? 0);
        }
        return (bytes, parameters);
    }
}
