using EfficientML.Core;
using System.Text;

namespace EfficientML.Text;

/// <summary>UTF-8 bytes as tokens: 256 ids, no training, every string representable.</summary>
public sealed class ByteTokenizer : ITokenizer
{
    /// <summary>The one instance (it has no state).</summary>
    public static ByteTokenizer Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "byte";

    /// <inheritdoc />
    public int VocabSize => 256;

    /// <inheritdoc />
    public int[] Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    /// <inheritdoc />
    public string Decode(IEnumerable<int> tokens) => Encoding.UTF8.GetString(tokens.Select(ToByte).ToArray());

    /// <summary>A decoder for a stream of tokens that holds back incomplete multi-byte characters.</summary>
    public static StreamingByteDecoder Streaming() => new();

    static byte ToByte(int t) => t is >= 0 and < 256 ? (byte)t : throw new InvalidSettingsException($"Byte tokens are 0..255 (got {t}).");
}

/// <summary>Turns byte tokens into text one at a time, for printing tokens as they are generated.</summary>
public sealed class StreamingByteDecoder
{
    readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    readonly char[] _chars = new char[4];

    /// <summary>The text this token completes (empty while a multi-byte character is still open).</summary>
    public string Push(int token)
    {
        var bytes = new[] { (byte)token };
        int n = _decoder.GetChars(bytes, 0, 1, _chars, 0, flush: false);
        return new string(_chars, 0, n);
    }
}
