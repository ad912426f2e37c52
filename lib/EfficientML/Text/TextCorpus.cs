using System.IO.Compression;
using System.Text;
using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Text;

/// <summary>Which part of a corpus.</summary>
public enum Split
{
    /// <summary>The part models learn from.</summary>
    Train,
    /// <summary>The held-out part losses are reported on.</summary>
    Validation,
}

/// <summary>
/// A tokenized text with a deterministic train/validation split: validation is the last part of the text,
/// starting at a paragraph boundary, so no passage is in both. Token ids are kept as 1-D int64 CPU tensors.
/// </summary>
public sealed class TextCorpus : IDisposable
{
    TextCorpus(string name, ITokenizer tokenizer, string train, string validation)
    {
        Name = name;
        Tokenizer = tokenizer;
        TrainText = train;
        ValidationText = validation;
        TorchNative.EnsureLoaded();
        Train = tensor(tokenizer.Encode(train).Select(t => (long)t).ToArray()).DetachFromDisposeScope();
        Validation = tensor(tokenizer.Encode(validation).Select(t => (long)t).ToArray()).DetachFromDisposeScope();
    }

    /// <summary>Name for reports ("moby-dick").</summary>
    public string Name { get; }

    /// <summary>The tokenizer the ids come from.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>Training text.</summary>
    public string TrainText { get; }

    /// <summary>Validation text.</summary>
    public string ValidationText { get; }

    /// <summary>Training token ids, (N,) int64.</summary>
    public Tensor Train { get; }

    /// <summary>Validation token ids, (M,) int64.</summary>
    public Tensor Validation { get; }

    /// <summary>
    /// About <paramref name="length"/> characters of the validation text from character <paramref name="start"/>: when
    /// <paramref name="start"/> lies inside the text the excerpt begins after the next space, and it ends at the last space
    /// or newline when one lies in its second half (so words stay whole).
    /// </summary>
    public string ValidationExcerpt(int start, int length)
    {
        if (start < 0 || length < 1) throw new InvalidSettingsException($"An excerpt needs a start of at least 0 and a length of at least 1, not {start} and {length}.");
        var text = ValidationText;
        if (start > 0)
        {
            int space = text.IndexOf(' ', Math.Min(start, text.Length));
            start = space < 0 ? text.Length : space + 1;
        }
        var rest = text[start..];
        if (rest.Length <= length) return rest;
        int end = rest.LastIndexOfAny([' ', '\n'], length);
        return rest[..(end > length / 2 ? end : length)];
    }

    /// <summary>Token ids of one split.</summary>
    public Tensor Tokens(Split split) => split == Split.Train ? Train : Validation;

    /// <summary>Moby-Dick (datasets/text), 90 % train / 10 % validation.</summary>
    public static TextCorpus MobyDick(ITokenizer? tokenizer = null, double validationFraction = 0.1) =>
        FromText("moby-dick", ReadMobyDick(), tokenizer ?? ByteTokenizer.Instance, validationFraction);

    /// <summary>The raw text of Moby-Dick shipped in datasets/text.</summary>
    public static string ReadMobyDick()
    {
        var path = ProjectPaths.Dataset("text", "moby-dick.txt.gz");
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Any text, split so the last <paramref name="validationFraction"/> (from a paragraph start) is validation.</summary>
    public static TextCorpus FromText(string name, string text, ITokenizer tokenizer, double validationFraction = 0.1)
    {
        if (validationFraction is <= 0 or >= 1)
            throw new InvalidSettingsException("The validation fraction must lie strictly between 0 and 1.");
        if (text.Length < 100) throw new InvalidSettingsException("The text is too short to split into training and validation parts (need at least 100 characters).");
        int cut = (int)(text.Length * (1 - validationFraction));
        int paragraph = text.IndexOf("\n\n", cut, StringComparison.Ordinal);
        if (paragraph > 0 && paragraph < text.Length - 2) cut = paragraph + 2;
        return new TextCorpus(name, tokenizer, text[..cut], text[cut..]);
    }

    /// <summary>
    /// A random batch of windows from <paramref name="split"/>: inputs (B, T) and the next-token targets (B, T).
    /// </summary>
    public (Tensor Inputs, Tensor Targets) SampleBatch(Split split, int batchSize, int blockSize, Generator generator, Device? device = null)
    {
        var data = Tokens(split);
        long room = data.shape[0] - blockSize - 1;
        if (room < 1) throw new InvalidSettingsException($"The {split} split has {data.shape[0]} tokens: too few for windows of {blockSize}.");
        var starts = randint(0, room, [batchSize], generator: generator, dtype: ScalarType.Int64);
        return Windows(data, starts, blockSize, device);
    }

    /// <summary>
    /// Non-overlapping windows covering <paramref name="split"/> in order (at most <paramref name="maxBatches"/> batches),
    /// for a deterministic evaluation.
    /// </summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> EvaluationBatches(Split split, int batchSize, int blockSize, int? maxBatches = null, Device? device = null)
    {
        var data = Tokens(split);
        long windows = (data.shape[0] - 1) / blockSize;
        long limit = maxBatches is int m ? Math.Min(windows, (long)m * batchSize) : windows;
        for (long first = 0; first < limit; first += batchSize)
        {
            long count = Math.Min(batchSize, limit - first);
            var starts = arange(first, first + count, dtype: ScalarType.Int64) * blockSize;
            yield return Windows(data, starts, blockSize, device);
        }
    }

    static (Tensor, Tensor) Windows(Tensor data, Tensor starts, int blockSize, Device? device)
    {
        var offsets = arange(blockSize + 1, dtype: ScalarType.Int64);
        var rows = data[starts.unsqueeze(1) + offsets.unsqueeze(0)];                 // (B, T+1)
        var x = rows[.., ..^1];
        var y = rows[.., 1..];
        return device is null ? (x, y) : (x.to(device), y.to(device));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Train.Dispose();
        Validation.Dispose();
    }
}
