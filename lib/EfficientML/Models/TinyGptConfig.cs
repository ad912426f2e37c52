using EfficientML.Core;
using System.Text.Json;

namespace EfficientML.Models;

/// <summary>Sizes of a <see cref="TinyGpt"/>. Every width is explicit so techniques can change one at a time.</summary>
public sealed record TinyGptConfig
{
    /// <summary>Tokens the model knows (256 for the byte tokenizer).</summary>
    public int VocabSize { get; init; } = 256;

    /// <summary>Longest sequence (learned position embeddings).</summary>
    public int ContextLength { get; init; } = 256;

    /// <summary>Number of transformer blocks.</summary>
    public int Layers { get; init; } = 6;

    /// <summary>Width of the residual stream, d.</summary>
    public int Dim { get; init; } = 128;

    /// <summary>Query heads; <see cref="Dim"/> must divide by it.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Key/value heads: equal to <see cref="Heads"/> for multi-head, fewer for grouped-query attention.</summary>
    public int KvHeads { get; init; } = 4;

    /// <summary>Hidden width of the MLP.</summary>
    public int MlpDim { get; init; } = 512;

    /// <summary>Output head shares the token embedding matrix.</summary>
    public bool TiedHead { get; init; } = true;

    /// <summary>LayerNorm epsilon.</summary>
    public double NormEps { get; init; } = 1e-5;

    /// <summary>
    /// MLP activation: <c>"gelu"</c> (exact, erf) or <c>"gelu_tanh"</c> (the tanh approximation GPT-2 uses,
    /// Hugging Face's <c>gelu_new</c>). Checkpoints written before this setting existed read as <c>"gelu"</c>.
    /// </summary>
    public string Activation { get; init; } = Gelu;

    /// <summary>Value of <see cref="Activation"/> for the exact GELU.</summary>
    public const string Gelu = "gelu";

    /// <summary>Value of <see cref="Activation"/> for GELU's tanh approximation (GPT-2).</summary>
    public const string GeluTanh = "gelu_tanh";

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => Dim / Heads;

    /// <summary>Largest width, MLP width, vocabulary or context a configuration may ask for (far beyond this project's models).</summary>
    public const int MaxSize = 1 << 20;

    /// <summary>Most blocks a configuration may ask for.</summary>
    public const int MaxLayers = 4096;

    /// <summary>Throws one clear message for the first thing that cannot work (sizes out of range included; memory is checked when a model is built).</summary>
    public TinyGptConfig Validate()
    {
        void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid TinyGpt configuration: {message}"); }
        void Size(int value, string name, int max) => Need(value > 0 && value <= max, $"{name} must be 1 to {max:N0} (got {value:N0}).");
        Size(VocabSize, nameof(VocabSize), MaxSize);
        Size(ContextLength, nameof(ContextLength), MaxSize);
        Size(Layers, nameof(Layers), MaxLayers);
        Size(Dim, nameof(Dim), MaxSize);
        Size(Heads, nameof(Heads), Dim);
        Need(Dim % Heads == 0, $"Dim ({Dim}) must be a multiple of Heads ({Heads}).");
        Need(KvHeads > 0 && Heads % KvHeads == 0, $"Heads ({Heads}) must be a multiple of KvHeads ({KvHeads}).");
        Size(MlpDim, nameof(MlpDim), MaxSize);
        Need(NormEps > 0, $"NormEps must be positive (got {NormEps}).");
        Need(Activation is Gelu or GeluTanh, $"Activation must be \"{Gelu}\" or \"{GeluTanh}\" (got \"{Activation}\").");
        return this;
    }

    /// <summary>Parameter count implied by the configuration (equals the built model's).</summary>
    public long ParameterCount
    {
        get
        {
            long d = Dim, kv = (long)KvHeads * HeadDim, m = MlpDim;
            long attention = (d * d + d) * 2 + (d * kv + kv) * 2;
            long mlp = d * m + m + m * d + d;
            long block = attention + mlp + 4 * d;
            long embeddings = (long)VocabSize * d + (long)ContextLength * d;
            return embeddings + Layers * block + 2 * d + (TiedHead ? 0 : (long)VocabSize * d);
        }
    }

    /// <summary>Bytes of float32 weights (what building the model allocates).</summary>
    public long WeightBytes => ParameterCount * sizeof(float);

    /// <summary>
    /// The name and shape of every tensor a TinyGpt of this configuration holds (its state dict), without building it:
    /// a loader compares a file's tensors with these before it allocates anything.
    /// </summary>
    public IReadOnlyDictionary<string, long[]> TensorShapes()
    {
        long d = Dim, kv = (long)KvHeads * HeadDim, m = MlpDim;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["wte.weight"] = [VocabSize, d],
            ["wpe.weight"] = [ContextLength, d],
        };
        for (int l = 0; l < Layers; l++)
        {
            var b = $"blocks.{l}.";
            shapes[b + "ln_1.weight"] = [d]; shapes[b + "ln_1.bias"] = [d];
            shapes[b + "ln_2.weight"] = [d]; shapes[b + "ln_2.bias"] = [d];
            shapes[b + "attn.q_proj.weight"] = [d, d]; shapes[b + "attn.q_proj.bias"] = [d];
            shapes[b + "attn.k_proj.weight"] = [kv, d]; shapes[b + "attn.k_proj.bias"] = [kv];
            shapes[b + "attn.v_proj.weight"] = [kv, d]; shapes[b + "attn.v_proj.bias"] = [kv];
            shapes[b + "attn.o_proj.weight"] = [d, d]; shapes[b + "attn.o_proj.bias"] = [d];
            shapes[b + "mlp.fc.weight"] = [m, d]; shapes[b + "mlp.fc.bias"] = [m];
            shapes[b + "mlp.proj.weight"] = [d, m]; shapes[b + "mlp.proj.bias"] = [d];
        }
        shapes["ln_f.weight"] = [d];
        shapes["ln_f.bias"] = [d];
        if (!TiedHead) shapes["lm_head.weight"] = [VocabSize, d];
        return shapes;
    }

    /// <summary>Where this and <paramref name="other"/> differ, in words ("Dim 48 against 32, Heads 6 against 4"); empty when equal.</summary>
    public string Differences(TinyGptConfig other)
    {
        var fields = new (string Name, object Mine, object Theirs)[]
        {
            (nameof(VocabSize), VocabSize, other.VocabSize), (nameof(ContextLength), ContextLength, other.ContextLength),
            (nameof(Layers), Layers, other.Layers), (nameof(Dim), Dim, other.Dim), (nameof(Heads), Heads, other.Heads),
            (nameof(KvHeads), KvHeads, other.KvHeads), (nameof(MlpDim), MlpDim, other.MlpDim), (nameof(TiedHead), TiedHead, other.TiedHead),
            (nameof(NormEps), NormEps, other.NormEps), (nameof(Activation), Activation, other.Activation),
        };
        return string.Join(", ", fields.Where(f => !f.Mine.Equals(f.Theirs)).Select(f => $"{f.Name} {f.Mine} against {f.Theirs}"));
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = false, AllowDuplicateProperties = false };

    /// <summary>JSON form, stored in checkpoint metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads the JSON form; JSON that is not a configuration (bad syntax, a wrong-typed or repeated field) is one clear message.</summary>
    public static TinyGptConfig FromJson(string json)
    {
        TinyGptConfig? config;
        try { config = JsonSerializer.Deserialize<TinyGptConfig>(json, Json); }
        catch (JsonException e)
        {
            throw new InvalidSettingsException($"The TinyGpt configuration is not valid JSON: it has {JsonProblems.Describe(e)}.");
        }
        return (config ?? throw new InvalidSettingsException("The TinyGpt configuration JSON is empty (null).")).Validate();
    }
}
