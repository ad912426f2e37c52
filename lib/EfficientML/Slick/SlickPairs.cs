using EfficientML.Core;

namespace EfficientML.Slick;

/// <summary>What a pair is: the keyword is the spoken phrase, a random other phrase, or a similar-sounding one.</summary>
public enum SlickPairKind
{
    /// <summary>The keyword is the phrase that is spoken (label 1).</summary>
    Positive,

    /// <summary>The keyword is a random other phrase of the same split (label 0).</summary>
    EasyNegative,

    /// <summary>The keyword is within a small phoneme edit distance of the spoken phrase but not equal to it (label 0).</summary>
    HardNegative,
}

/// <summary>
/// One LibriPhrase-style pair: <see cref="Anchor"/> is the phrase that is spoken, <see cref="Keyword"/> the phonemes of
/// the keyword it is matched against (unpadded); <see cref="KeywordText"/> is the keyword's text when it is a real
/// phrase, null for a hard negative made by phoneme substitutions. <see cref="EditDistance"/> is the phoneme edit
/// distance (Levenshtein) between the two.
/// </summary>
public sealed record SlickPair(SlickPhrase Anchor, int[] Keyword, string? KeywordText, SlickPairKind Kind, int EditDistance)
{
    /// <summary>1 when the spoken phrase is the keyword, else 0.</summary>
    public int Label => Kind == SlickPairKind.Positive ? 1 : 0;

    /// <summary>The keyword's phoneme names, space-separated.</summary>
    public string KeywordPhonemes => string.Join(" ", Keyword.Select(Phonemizer.Name));
}

/// <summary>
/// Pairs of (spoken phrase, keyword) as LibriPhrase makes them: for each anchor phrase a positive (the same phrase), an
/// easy negative (a random other phrase) or a hard negative (a similar-sounding keyword). A hard negative is a real
/// phrase of the same split within phoneme edit distance <see cref="HardDistance"/> of the anchor when there is one
/// (chosen at random among them); otherwise the anchor's phonemes with one or two of them swapped for a similar phoneme
/// (a vowel for a neighbouring vowel, a voiced for a voiceless consonant, a nasal for a nasal, "l" for "r": "brave" for
/// "bravo"-like confusions). A hard negative never equals the anchor's phonemes. Everything is drawn from the seed.
/// </summary>
public static class SlickPairs
{
    /// <summary>The largest phoneme edit distance of a hard negative.</summary>
    public const int HardDistance = 2;

    /// <summary>
    /// <paramref name="count"/> pairs over <paramref name="phrases"/> (one split), in the order positive, easy negative,
    /// hard negative, repeated; anchors drawn at random from <paramref name="seed"/>.
    /// </summary>
    public static IReadOnlyList<SlickPair> Make(IReadOnlyList<SlickPhrase> phrases, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(phrases);
        if (count < 0) throw new InvalidSettingsException($"The number of pairs cannot be negative (got {count}).");
        if (phrases.Count < 2) throw new InvalidSettingsException($"Pairs need at least two phrases to draw negatives from; there are {phrases.Count}.");
        var rng = new Random(seed);
        var byLength = ByLength(phrases);
        var pairs = new List<SlickPair>(count);
        for (int i = 0; i < count; i++)
        {
            var anchor = phrases[rng.Next(phrases.Count)];
            pairs.Add((i % 3) switch
            {
                0 => new SlickPair(anchor, anchor.Phonemes, anchor.Text, SlickPairKind.Positive, 0),
                1 => Easy(anchor, phrases, rng),
                _ => Hard(anchor, phrases, byLength, rng),
            });
        }
        return pairs;
    }

    /// <summary>An easy negative for <paramref name="anchor"/>: a random phrase of <paramref name="phrases"/> with other phonemes.</summary>
    internal static SlickPair Easy(SlickPhrase anchor, IReadOnlyList<SlickPhrase> phrases, Random rng)
    {
        for (int attempt = 0; ; attempt++)
        {
            var other = phrases[rng.Next(phrases.Count)];
            if (other.Phonemes.AsSpan().SequenceEqual(anchor.Phonemes) && attempt < 100) continue;
            if (other.Phonemes.AsSpan().SequenceEqual(anchor.Phonemes))
                throw new InvalidSettingsException("Every phrase sounds the same; pairs need phrases with different phonemes.");
            return new SlickPair(anchor, other.Phonemes, other.Text, SlickPairKind.EasyNegative, EditDistance(anchor.Phonemes, other.Phonemes));
        }
    }

    /// <summary>A hard negative for <paramref name="anchor"/>: a random neighbour among <paramref name="phrases"/> (indexed by <see cref="ByLength"/>), else a substitution.</summary>
    internal static SlickPair Hard(SlickPhrase anchor, IReadOnlyList<SlickPhrase> phrases, Dictionary<int, int[]> byLength, Random rng)
    {
        var near = Neighbours(anchor, phrases, byLength);
        if (near.Count > 0)
        {
            var (index, distance) = near[rng.Next(near.Count)];
            return new SlickPair(anchor, phrases[index].Phonemes, phrases[index].Text, SlickPairKind.HardNegative, distance);
        }
        var keyword = Substitute(anchor.Phonemes, rng.Next(1, HardDistance + 1), rng);
        return new SlickPair(anchor, keyword, null, SlickPairKind.HardNegative, EditDistance(anchor.Phonemes, keyword));
    }

    /// <summary>The phrases (index, distance) within <see cref="HardDistance"/> of <paramref name="anchor"/> that sound different from it.</summary>
    public static IReadOnlyList<(int Index, int Distance)> Neighbours(SlickPhrase anchor, IReadOnlyList<SlickPhrase> phrases) =>
        Neighbours(anchor, phrases, ByLength(phrases));

    /// <summary>The indices of <paramref name="phrases"/> by phoneme count.</summary>
    internal static Dictionary<int, int[]> ByLength(IReadOnlyList<SlickPhrase> phrases) =>
        phrases.Select((p, i) => (p, i)).GroupBy(x => x.p.Phonemes.Length).ToDictionary(g => g.Key, g => g.Select(x => x.i).ToArray());

    static List<(int, int)> Neighbours(SlickPhrase anchor, IReadOnlyList<SlickPhrase> phrases, Dictionary<int, int[]> byLength)
    {
        var near = new List<(int, int)>();
        int n = anchor.Phonemes.Length;
        for (int length = Math.Max(1, n - HardDistance); length <= n + HardDistance; length++)
            if (byLength.TryGetValue(length, out var indices))
                foreach (var i in indices)
                {
                    int d = EditDistance(anchor.Phonemes, phrases[i].Phonemes, HardDistance);
                    if (d >= 1 && d <= HardDistance) near.Add((i, d));
                }
        return near;
    }

    /// <summary>
    /// <paramref name="phonemes"/> with <paramref name="substitutions"/> phonemes (at distinct positions that have a
    /// similar phoneme, see <see cref="Phonemizer.Similar"/>) replaced by a similar one. Never equal to the input; a
    /// sequence in which nothing has a similar phoneme gets one vowel or consonant of its own class instead.
    /// </summary>
    public static int[] Substitute(IReadOnlyList<int> phonemes, int substitutions, Random rng)
    {
        if (phonemes.Count == 0) throw new InvalidSettingsException("There are no phonemes to substitute.");
        var result = phonemes.ToArray();
        var positions = Enumerable.Range(0, result.Length).Where(i => Phonemizer.Similar(result[i]).Count > 0).ToArray();
        rng.Shuffle(positions);
        foreach (var i in positions.Take(Math.Max(1, substitutions)))
        {
            var similar = Phonemizer.Similar(result[i]);
            result[i] = similar[rng.Next(similar.Count)];
        }
        if (positions.Length == 0)
        {
            int i = rng.Next(result.Length);
            var pool = Enumerable.Range(1, Phonemizer.Count - 1).Where(id => id != result[i] && Phonemizer.IsVowel(id) == Phonemizer.IsVowel(result[i])).ToArray();
            result[i] = pool[rng.Next(pool.Length)];
        }
        return result;
    }

    /// <summary>Levenshtein distance between two phoneme sequences (substitution, insertion and deletion each cost 1).</summary>
    public static int EditDistance(IReadOnlyList<int> a, IReadOnlyList<int> b) => EditDistance(a, b, int.MaxValue);

    /// <summary>
    /// Levenshtein distance between <paramref name="a"/> and <paramref name="b"/> when it is at most <paramref name="max"/>,
    /// otherwise some value above <paramref name="max"/> (the computation stops early).
    /// </summary>
    public static int EditDistance(IReadOnlyList<int> a, IReadOnlyList<int> b, int max)
    {
        if (Math.Abs(a.Count - b.Count) > max) return max == int.MaxValue ? max : max + 1;
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (int j = 0; j <= b.Count; j++) previous[j] = j;
        for (int i = 1; i <= a.Count; i++)
        {
            current[0] = i;
            int rowMin = current[0];
            for (int j = 1; j <= b.Count; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                rowMin = Math.Min(rowMin, current[j]);
            }
            if (rowMin > max) return max + 1;
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }
}
