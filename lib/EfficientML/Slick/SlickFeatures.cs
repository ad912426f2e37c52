using EfficientML.Audio;
using EfficientML.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientML.Slick;

/// <summary>
/// The training targets SLiCK derives from a pair: the utterance label, the subsequence labels and the CTC target.
/// </summary>
public static class SlickTargets
{
    /// <summary>
    /// The subsequence labels of <paramref name="keyword"/> against the spoken <paramref name="anchor"/>, padded to
    /// <paramref name="maxLength"/>: position k is 1 when the keyword's first k + 1 phonemes occur, in order and
    /// contiguously, in the anchor's phonemes ("does the audio contain this prefix?"), else 0; padding positions are 0.
    /// For a positive every position is 1; for "brave" against "bravo" the positions up to the last shared phoneme are 1
    /// and the rest 0 — the finer supervision that teaches a matcher where two similar keywords part.
    /// </summary>
    public static float[] Prefixes(IReadOnlyList<int> anchor, IReadOnlyList<int> keyword, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(anchor);
        ArgumentNullException.ThrowIfNull(keyword);
        var labels = new float[maxLength];
        int n = Math.Min(keyword.Count, maxLength);
        for (int k = 0; k < n; k++)
        {
            if (!Contains(anchor, keyword, k + 1)) break;    // a longer prefix of a prefix that is absent is absent too
            labels[k] = 1;
        }
        return labels;
    }

    static bool Contains(IReadOnlyList<int> haystack, IReadOnlyList<int> needle, int length)
    {
        for (int start = 0; start + length <= haystack.Count; start++)
        {
            int i = 0;
            while (i < length && haystack[start + i] == needle[i]) i++;
            if (i == length) return true;
        }
        return false;
    }
}

/// <summary>
/// A set of SLiCK pairs as tensors: mean-normalised log-mel features [N, mels, frames], keywords [N, L] (padded ids),
/// utterance labels [N], subsequence labels [N, L], and for each clip the phonemes that are spoken (the CTC target).
/// </summary>
public sealed class SlickFeatures : IDisposable
{
    SlickFeatures(IReadOnlyList<SlickExample> examples, Tensor features, Tensor keywords, Tensor labels, Tensor subsequence, int maxLength)
    {
        Examples = examples;
        Features = features;
        Keywords = keywords;
        Labels = labels;
        Subsequence = subsequence;
        MaxKeywordLength = maxLength;
    }

    /// <summary>The examples, in order.</summary>
    public IReadOnlyList<SlickExample> Examples { get; }

    /// <summary>Log-mel features [N, mels, frames], each band's mean over time removed.</summary>
    public Tensor Features { get; }

    /// <summary>Keyword phoneme ids [N, L], int64, padded with 0.</summary>
    public Tensor Keywords { get; }

    /// <summary>Utterance labels [N], float32 (1: the keyword is said).</summary>
    public Tensor Labels { get; }

    /// <summary>Subsequence labels [N, L], float32 (<see cref="SlickTargets.Prefixes"/>).</summary>
    public Tensor Subsequence { get; }

    /// <summary>L.</summary>
    public int MaxKeywordLength { get; }

    /// <summary>Number of pairs.</summary>
    public int Count => Examples.Count;

    /// <summary>The spoken phonemes of clip <paramref name="i"/> (the CTC target).</summary>
    public int[] Spoken(int i) => Examples[i].Pair.Anchor.Phonemes;

    /// <summary>The features of <paramref name="examples"/> (all with keywords padded to the same L), in batches of <paramref name="batch"/>.</summary>
    public static SlickFeatures Of(IReadOnlyList<SlickExample> examples, LogMel? logMel = null, int batch = 256)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new InvalidSettingsException("There are no examples to make features of.");
        int length = examples[0].Keyword.Length;
        if (examples.Any(e => e.Keyword.Length != length))
            throw new InvalidSettingsException("Every keyword of a set must be padded to the same maximum length L.");
        int samples = examples[0].Samples.Length;
        if (examples.Any(e => e.Samples.Length != samples))
            throw new InvalidSettingsException("Every clip of a set must have the same length; pad or cut them to one length first.");
        using var own = logMel is null ? new LogMel() : null;
        logMel ??= own!;
        var parts = new List<Tensor>();
        for (int start = 0; start < examples.Count; start += batch)
        {
            int n = Math.Min(batch, examples.Count - start);
            var flat = new float[n * samples];
            for (int i = 0; i < n; i++) examples[start + i].Samples.CopyTo(flat, i * samples);
            using var audio = tensor(flat, [n, samples]);
            using var mel = logMel.Compute(audio);
            parts.Add(KeywordFeatures.Normalise(mel));
        }
        var features = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        var keywords = tensor(examples.SelectMany(e => e.Keyword.Select(id => (long)id)).ToArray(), [examples.Count, length]);
        var labels = tensor(examples.Select(e => (float)e.Label).ToArray());
        var subsequence = tensor(examples.SelectMany(e => SlickTargets.Prefixes(e.Pair.Anchor.Phonemes, e.Pair.Keyword, length)).ToArray(), [examples.Count, length]);
        return new SlickFeatures(examples, features, keywords, labels, subsequence, length);
    }

    /// <summary>The examples of one kind (and every positive when <paramref name="withPositives"/>), as indices.</summary>
    public int[] Indices(SlickPairKind kind, bool withPositives = true) =>
        Enumerable.Range(0, Count).Where(i => Examples[i].Kind == kind || (withPositives && Examples[i].Kind == SlickPairKind.Positive)).ToArray();

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Features.Dispose();
        Keywords.Dispose();
        Labels.Dispose();
        Subsequence.Dispose();
    }
}
