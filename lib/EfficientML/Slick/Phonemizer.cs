using System.Text;
using System.Text.RegularExpressions;
using EfficientML.Audio;
using EfficientML.Core;

namespace EfficientML.Slick;

/// <summary>
/// The text side of SLiCK: a keyword a user types, as a sequence of phoneme ids from a fixed inventory of 40 English
/// phonemes (id 0 is padding), padded to the maximum keyword length L.
/// <para>
/// The phonemes come from espeak-ng (en-us), not from a pronouncing dictionary such as CMUdict: a user may type any word
/// (a name, a made-up word, "qwrtz"), and espeak-ng's letter-to-sound rules pronounce every one of them, where a
/// dictionary has no entry for words it never saw; it is the same engine that speaks the training audio, so the
/// phonemes of a keyword are exactly the ones its synthetic utterances contain; and espeak-ng reports when each phoneme
/// starts in the audio (<see cref="SynthesizedSpeech.Phonemes"/>), which phoneme-level (CTC) and subsequence targets can use.
/// </para>
/// <para>
/// How espeak-ng's names become tokens: espeak-ng is asked for its ASCII phoneme names with a separator between the
/// phonemes of a word (<see cref="SpeechSynthesizer.PhonemeNames"/>), so a multi-character name such as "tS", "aI" or
/// "i@3" is one clean token rather than a string to guess at. Stress marks (' , % =), syllable and pause marks, and the
/// linking glide ";" espeak-ng puts between vowels ("the end") are dropped. espeak-ng's allophones and weak forms are then folded onto the 40 phonemes (an ARPAbet-like set; see
/// <see cref="Folds"/>): e.g. its three schwas "@", "@2", "@5" are all "@", the flapped or glottal "t#", "t2" and "?" are
/// "t", and its r-coloured vowels are split as ARPAbet does ("A@" in "car" is "A:" + "r", "aI@" in "fire" is "aI" + "3:").
/// A name outside the table (a future espeak-ng) is folded by dropping its trailing variant marks (digits, '#', '/').
/// </para>
/// <para>
/// Input: ASCII letters, apostrophes, hyphens, digits (espeak-ng spells numbers out) and spaces; case and extra spaces
/// do not matter. Anything else (e.g. "@@@", "中文", "héllo") is refused with one message, even where espeak-ng would say
/// something for it ("@@@" is "at at at"), because a keyword must mean the same to the user as to the model.
/// The same text always gives the same ids (results are cached per text).
/// </para>
/// </summary>
public sealed class Phonemizer
{
    /// <summary>The padding id.</summary>
    public const int Padding = 0;

    /// <summary>The separator espeak-ng puts between phoneme names (no en-us phoneme name contains it).</summary>
    internal const char Separator = '+';

    /// <summary>The 16 vowels (espeak-ng ASCII names): æ ɑ ʌ ə ɛ ɝ ɪ i ʊ u ɔ eɪ aɪ aʊ ɔɪ oʊ.</summary>
    public static readonly IReadOnlyList<string> Vowels = ["a", "A:", "V", "@", "E", "3:", "I", "i:", "U", "u:", "O:", "eI", "aI", "aU", "OI", "oU"];

    /// <summary>The 24 consonants (espeak-ng ASCII names; T, D, S, Z, N are θ, ð, ʃ, ʒ, ŋ).</summary>
    public static readonly IReadOnlyList<string> Consonants =
        ["p", "b", "t", "d", "k", "g", "f", "v", "T", "D", "s", "z", "S", "Z", "h", "tS", "dZ", "m", "n", "N", "l", "r", "j", "w"];

    /// <summary>Every token by id: "&lt;pad&gt;" at 0, then the vowels, then the consonants.</summary>
    public static readonly IReadOnlyList<string> Inventory = ["<pad>", .. Vowels, .. Consonants];

    /// <summary>Number of ids, padding included (the size of an embedding table over phonemes).</summary>
    public static int Count => Inventory.Count;

    static readonly Dictionary<string, int> Ids = Inventory.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);

    /// <summary>
    /// espeak-ng's phoneme names (en-us, its parent table en, and the shared base tables) and the inventory phonemes each
    /// stands for; names of the inventory stand for themselves. An empty list means the name is dropped.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> Folds = BuildFolds();

    static Dictionary<string, string[]> BuildFolds()
    {
        var f = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string canonical, params string[] names) { foreach (var n in names) f[n] = canonical.Split(' '); }
        foreach (var name in Inventory.Skip(1)) f[name] = [name];
        Add("@", "@2", "@5", "@#", "@-", "a#", "a#2");
        Add("a", "a2", "aa", "a/");
        Add("A:", "0", "02", "0#", "A#", "A~");
        Add("E", "E#", "E2", "e", "e#", "e:", "EI");
        Add("I", "I#", "I2", "I2#");
        Add("i:", "i", "y", "iU");
        Add("u:", "u", "Y", "uI", "eU");
        Add("O:", "O", "O2", "o", "o:", "O~");
        Add("oU", "oU#");
        Add("OI", "oI");
        Add("3:", "3", "r-");
        Add("A: r", "A@");
        Add("O: r", "O@", "o@");
        Add("E r", "e@");
        Add("I r", "i@", "i@3", "IR");
        Add("U r", "U@");
        Add("V r", "VR");
        Add("aI 3:", "aI@");
        Add("aI", "aI3");                    // "fire" is f aI3 r-: the r- that follows is the 3:
        Add("aU 3:", "aU@");
        Add("@ l", "@L", "l-");
        Add("@ n", "n-");
        Add("@ m", "m-");
        Add("N", "N-");
        Add("t", "t#", "t2", "?", "t[");
        Add("d", "d#", "d[");
        Add("z", "z#", "z/2", "z.", "z;");
        Add("s", "s.", "s;");
        Add("S", "S;");
        Add("Z", "Z;");
        Add("tS", "tS;");
        Add("dZ", "dZ;", "J");
        Add("t s", "ts");
        Add("w", "w#", "w2");
        Add("r", "r/", "R", "R2", "R3", "r.", "**");
        Add("l", "L", "l/", "l/2", "l/3", "l^", "l.", "l#", "L/");
        Add("n", "n.", "n^");
        Add("k", "x", "X", "q", "c");
        Add("g", "Q");
        Add("v", "B", "v#");
        Add("h", "C");
        Add("j", "J^");
        foreach (var dropped in new[] { "-", ":", "||", "*", ";" }) f[dropped] = [];       // ";" is a linking glide espeak-ng adds between vowels ("the end"), not a phoneme of the words
        return f;
    }

    static readonly Regex LanguageSwitch = new(@"\([a-z-]+\)", RegexOptions.Compiled);

    readonly SpeechSynthesizer _synthesizer;
    readonly SynthesisVoice _voice = new() { Voice = "en-us" };
    readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <summary>A phonemizer over <paramref name="synthesizer"/> (default: the shared one from <see cref="SpeechSynthesizer.Open"/>).</summary>
    public Phonemizer(SpeechSynthesizer? synthesizer = null) => _synthesizer = synthesizer ?? SpeechSynthesizer.Open();

    static readonly Lazy<Phonemizer> SharedInstance = new(() => new Phonemizer());

    /// <summary>One phonemizer over the shared espeak-ng, made on first use.</summary>
    public static Phonemizer Shared => SharedInstance.Value;

    /// <summary>The name of phoneme <paramref name="id"/>.</summary>
    public static string Name(int id) =>
        id >= 0 && id < Inventory.Count ? Inventory[id] : throw new InvalidSettingsException($"There is no phoneme id {id}; ids lie in 0..{Inventory.Count - 1}.");

    /// <summary>The id of inventory phoneme <paramref name="name"/>.</summary>
    public static int Id(string name) =>
        Ids.TryGetValue(name, out var id) ? id : throw new InvalidSettingsException($"'{name}' is not one of the {Inventory.Count - 1} phonemes: {string.Join(" ", Inventory.Skip(1))}.");

    /// <summary>Whether <paramref name="id"/> is a vowel.</summary>
    public static bool IsVowel(int id) => id >= 1 && id <= Vowels.Count;

    /// <summary>
    /// <paramref name="text"/> as the phrase the phonemizer reads: lower case, apostrophes straightened, words separated by
    /// single spaces. Throws one clear message for an empty text or characters that are not ASCII letters, digits,
    /// apostrophes, hyphens or spaces.
    /// </summary>
    public static string Normalise(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new InvalidSettingsException("The keyword is empty: type a word or a short phrase, e.g. \"hey computer\".");
        var t = text.Replace('\u2019', '\'').Replace('\u2018', '\'').Trim().ToLowerInvariant();
        var bad = t.Where(c => !(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '\'' or '-' or ' ' or '\t')).Distinct().ToArray();
        if (bad.Length > 0)
            throw new InvalidSettingsException(
                $"The keyword \"{text}\" has characters that cannot be read as English: {string.Join(" ", bad.Select(c => $"'{c}'"))}. " +
                "Type it with the letters a to z, apostrophes, hyphens, digits and spaces.");
        if (!t.Any(char.IsAsciiLetterOrDigit))
            throw new InvalidSettingsException($"The keyword \"{text}\" has no letters or digits: type a word or a short phrase, e.g. \"hey computer\".");
        return string.Join(' ', t.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>The phoneme ids of <paramref name="text"/> (no padding). Deterministic; see the class notes for what is read.</summary>
    public int[] Phonemize(string text)
    {
        var phrase = Normalise(text);
        lock (_cache)
            if (_cache.TryGetValue(phrase, out var known)) return (int[])known.Clone();
        var ids = Parse(_synthesizer.PhonemeNames(phrase, Separator, _voice));
        if (ids.Length == 0)
            throw new InvalidSettingsException($"espeak-ng finds nothing to say in \"{text}\": type a word or a short phrase, e.g. \"hey computer\".");
        lock (_cache) _cache[phrase] = ids;
        return (int[])ids.Clone();
    }

    /// <summary>The phoneme names of <paramref name="text"/>, e.g. "d oU n t" for "don't".</summary>
    public IReadOnlyList<string> Names(string text) => Phonemize(text).Select(Name).ToList();

    /// <summary>
    /// The keyword <paramref name="text"/> as exactly <paramref name="maxLength"/> ids, padded with <see cref="Padding"/>.
    /// A keyword with more phonemes than that is refused with one message.
    /// </summary>
    public int[] Keyword(string text, int maxLength)
    {
        if (maxLength < 1) throw new InvalidSettingsException($"The maximum keyword length is a number of phonemes, at least 1 (got {maxLength}).");
        var ids = Phonemize(text);
        if (ids.Length > maxLength)
            throw new InvalidSettingsException(
                $"The keyword \"{text}\" has {ids.Length} phonemes ({string.Join(" ", ids.Select(Name))}), more than the {maxLength} this model reads; type a shorter keyword.");
        return Pad(ids, maxLength);
    }

    /// <summary><paramref name="ids"/> padded with <see cref="Padding"/> to <paramref name="length"/> (they must fit).</summary>
    public static int[] Pad(IReadOnlyList<int> ids, int length)
    {
        if (ids.Count > length) throw new InvalidSettingsException($"{ids.Count} phonemes do not fit in {length}.");
        var padded = new int[length];
        for (int i = 0; i < ids.Count; i++) padded[i] = ids[i];
        return padded;
    }

    /// <summary>espeak-ng's separated ASCII names (words separated by spaces) as inventory ids.</summary>
    internal static int[] Parse(string names)
    {
        var ids = new List<int>();
        foreach (var word in LanguageSwitch.Replace(names, " ").Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries))
            foreach (var raw in word.Split(Separator, StringSplitOptions.RemoveEmptyEntries))
            {
                var token = raw.Trim('\'', ',', '%', '=');
                if (token.Length == 0 || token[0] is '_' or '|' or '#') continue;
                foreach (var name in Fold(token)) ids.Add(Ids[name]);
            }
        return ids.ToArray();
    }

    /// <summary>The inventory phonemes an espeak-ng name stands for (see <see cref="Folds"/>).</summary>
    internal static string[] Fold(string token)
    {
        for (var t = token; t.Length > 0; t = t[..^1])
        {
            if (Folds.TryGetValue(t, out var folded)) return folded;
            if (!(char.IsDigit(t[^1]) || t[^1] is '#' or '/' or ':' or ';' or '.' or '^' or '-')) break;
        }
        throw new EfficientMLException(
            $"espeak-ng gave the phoneme '{token}', which SLiCK's phoneme table does not know; this espeak-ng is newer than the table (add the name to Phonemizer.Folds).");
    }

    /// <summary>Phonemes a speaker may confuse with <paramref name="id"/>: voiced/voiceless partners, nasals, liquids, glides, neighbouring vowels.</summary>
    public static IReadOnlyList<int> Similar(int id) => SimilarIds.TryGetValue(id, out var s) ? s : [];

    static readonly Dictionary<int, int[]> SimilarIds = BuildSimilar();

    static Dictionary<int, int[]> BuildSimilar()
    {
        var groups = new (string Name, string Near)[]
        {
            ("p", "b"), ("b", "p"), ("t", "d"), ("d", "t"), ("k", "g"), ("g", "k"), ("f", "v T"), ("v", "f D"), ("T", "D f s"), ("D", "T v z"),
            ("s", "z S"), ("z", "s Z"), ("S", "Z s"), ("Z", "S z"), ("tS", "dZ S"), ("dZ", "tS Z"), ("m", "n"), ("n", "m N"), ("N", "n"),
            ("l", "r"), ("r", "l"), ("j", "w"), ("w", "j"),
            ("i:", "I eI"), ("I", "i: E"), ("eI", "E I aI"), ("E", "a I eI"), ("a", "E A: V"), ("A:", "V O: a"), ("V", "@ A: U"),
            ("@", "V I U"), ("3:", "@ V"), ("U", "u: V"), ("u:", "U oU"), ("O:", "A: oU"), ("oU", "O: u: aU"), ("aI", "eI OI A:"),
            ("aU", "oU A:"), ("OI", "aI O:"),
        };
        return groups.ToDictionary(g => Ids[g.Name], g => g.Near.Split(' ').Select(n => Ids[n]).ToArray());
    }
}
