using Microsoft.ML.Tokenizers;

namespace EfficientML.Text;

/// <summary>GPT-2's byte-pair encoding (50,257 ids), from Microsoft.ML.Tokenizers with its bundled vocabulary.</summary>
public sealed class Gpt2Tokenizer : ITokenizer
{
    static readonly Lazy<Gpt2Tokenizer> Shared = new(() => new Gpt2Tokenizer());
    readonly Tokenizer _inner = TiktokenTokenizer.CreateForModel("gpt2");

    /// <summary>The shared instance (loading the vocabulary takes a moment).</summary>
    public static Gpt2Tokenizer Instance => Shared.Value;

    /// <inheritdoc />
    public string Name => "gpt2";

    /// <inheritdoc />
    public int VocabSize => 50257;

    /// <inheritdoc />
    public int[] Encode(string text) => _inner.EncodeToIds(text).ToArray();

    /// <inheritdoc />
    public string Decode(IEnumerable<int> tokens) => _inner.Decode(tokens);
}
