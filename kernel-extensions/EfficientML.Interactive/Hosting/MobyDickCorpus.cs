using EfficientML.Text;

namespace EfficientML.Interactive;

/// <summary>The byte-level Moby-Dick corpus, read and tokenised once per process (a few MB of tensors).</summary>
public static class MobyDickCorpus
{
    static readonly object Gate = new();
    static TextCorpus? _corpus;

    /// <summary>The corpus, read once per process.</summary>
    public static TextCorpus Get()
    {
        lock (Gate) return _corpus ??= TextCorpus.MobyDick();
    }
}
