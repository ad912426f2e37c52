using EfficientML.Core;
namespace EfficientML.Text;

/// <summary>Turns text into token ids and back.</summary>
public interface ITokenizer
{
    /// <summary>Short name stored with checkpoints ("byte", "gpt2").</summary>
    string Name { get; }

    /// <summary>Number of distinct token ids.</summary>
    int VocabSize { get; }

    /// <summary>Token ids of <paramref name="text"/>.</summary>
    int[] Encode(string text);

    /// <summary>Text of <paramref name="tokens"/>.</summary>
    string Decode(IEnumerable<int> tokens);
}

/// <summary>The tokenizers the project ships, by name.</summary>
public static class Tokenizers
{
    /// <summary>"byte" (UTF-8 bytes, 256 ids) or "gpt2" (GPT-2 byte-pair encoding, 50,257 ids).</summary>
    public static ITokenizer ByName(string name) => name.Trim().ToLowerInvariant() switch
    {
        "byte" or "bytes" => ByteTokenizer.Instance,
        "gpt2" or "gpt-2" => Gpt2Tokenizer.Instance,
        _ => throw new InvalidSettingsException($"Unknown tokenizer '{name}'. Use 'byte' or 'gpt2'."),
    };
}
