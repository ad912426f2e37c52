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

    /// <summary>Throws one clear message for the first thing that cannot work.</summary>
    public TinyGptConfig Validate()
    {
        void Need(bool ok, string message) { if (!ok) throw new InvalidSettingsException($"Invalid TinyGpt configuration: {message}"); }
        Need(VocabSize > 0, $"VocabSize must be positive (got {VocabSize}).");
        Need(ContextLength > 0, $"ContextLength must be positive (got {ContextLength}).");
        Need(Layers > 0, $"Layers must be positive (got {Layers}).");
        Need(Dim > 0 && Heads > 0 && Dim % Heads == 0, $"Dim ({Dim}) must be a positive multiple of Heads ({Heads}).");
        Need(KvHeads > 0 && Heads % KvHeads == 0, $"Heads ({Heads}) must be a multiple of KvHeads ({KvHeads}).");
        Need(MlpDim > 0, $"MlpDim must be positive (got {MlpDim}).");
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

    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>JSON form, stored in checkpoint metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads the JSON form.</summary>
    public static TinyGptConfig FromJson(string json) =>
        (JsonSerializer.Deserialize<TinyGptConfig>(json, Json) ?? throw new InvalidSettingsException("Empty TinyGpt configuration JSON.")).Validate();
}
