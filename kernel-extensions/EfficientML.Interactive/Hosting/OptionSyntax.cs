using System.Text;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>
/// Checks a magic command's line as the user wrote it, before its options are read: every option that takes a value has
/// one (<c>--model --factor 2</c> is an error, not a model called "model"), a switch takes none (<c>--untied false</c> is
/// an error, not an untied model), nothing stands outside an option (<c>#!train foo --model m</c>), no option is given
/// twice, and every option is one the magic knows. The kernel's own binding would otherwise turn each of these into a
/// silent default.
/// </summary>
static class OptionSyntax
{
    /// <summary>One word of a magic line; <see cref="Quoted"/> words are always values, even when they start with --.</summary>
    public readonly record struct Word(string Text, bool Quoted);

    /// <summary>The words of <paramref name="line"/>: split at spaces, "double quotes" keep spaces (and are removed).</summary>
    public static IReadOnlyList<Word> Words(string line)
    {
        var words = new List<Word>();
        var word = new StringBuilder();
        bool inQuotes = false, any = false, quoted = false;
        foreach (var c in line)
        {
            if (c == '"') { inQuotes = !inQuotes; any = quoted = true; continue; }
            if (char.IsWhiteSpace(c) && !inQuotes)
            {
                // The kernel's parser splits words at ordinary spaces only: "--steps\u30001" is one word to it.
                if (c is not (' ' or '\t' or '\r' or '\n'))
                    throw new MagicException($"The line has an unusual space (U+{(int)c:X4}) between words; type an ordinary space there.");
                if (any) words.Add(new Word(word.ToString(), quoted));
                word.Clear();
                any = quoted = false;
                continue;
            }
            word.Append(c);
            any = true;
        }
        if (inQuotes) throw new MagicException("A quotation mark is not closed: put the value between two \" marks, e.g. --prompt \"Call me Ishmael.\"");
        if (any) words.Add(new Word(word.ToString(), quoted));
        return words;
    }

    /// <summary>Throws one <see cref="MagicException"/> for the first thing in <paramref name="line"/> that <paramref name="directive"/> cannot take.</summary>
    public static void Check(string line, KernelActionDirective directive)
    {
        var words = Words(line);
        if (words.Count == 0 || !string.Equals(words[0].Text, directive.Name, StringComparison.Ordinal)) return;
        var parameters = directive.Parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 1; i < words.Count; i++)
        {
            var (word, quoted) = words[i];
            if (quoted || !IsOption(word))
            {
                var implicitParameter = directive.Parameters.FirstOrDefault(p => p.AllowImplicitName && !seen.Contains(p.Name));
                if (implicitParameter != null) { seen.Add(implicitParameter.Name); continue; }
                throw new MagicException($"{directive.Name} does not take '{word}' on its own: every value follows the option it belongs to, " +
                                         $"e.g. {Example(directive)}. {Known(directive)}");
            }
            if (!parameters.TryGetValue(word, out var parameter))
                throw new MagicException($"{directive.Name} has no option {word}. {Known(directive)}");
            if (!seen.Add(word))
                throw new MagicException($"{word} is given twice; give it once.");
            bool hasValue = i + 1 < words.Count && (words[i + 1].Quoted || !IsOption(words[i + 1].Text));
            if (parameter.Flag)
            {
                if (hasValue)
                    throw new MagicException($"{word} is a switch and takes no value (got '{words[i + 1].Text}'): write {word} alone to turn it on, or leave it out.");
                continue;
            }
            if (!hasValue)
                throw new MagicException($"{word} needs a value{(i + 1 < words.Count ? $", but {words[i + 1].Text} follows it" : "")}: e.g. {word} {ExampleValue(parameter)}.");
            i++;
        }
    }

    /// <summary>An option looks like --name (a negative number such as -3 or -1e30 is a value, not an option).</summary>
    static bool IsOption(string word) => word.StartsWith("--", StringComparison.Ordinal);

    static string Known(KernelActionDirective directive) =>
        $"Its options: {string.Join(", ", directive.Parameters.Select(p => p.Flag ? p.Name : p.Name + " VALUE"))}.";

    static string Example(KernelActionDirective directive)
    {
        var first = directive.Parameters.FirstOrDefault(p => !p.Flag);
        return first is null ? directive.Name : $"{directive.Name} {first.Name} {ExampleValue(first)}";
    }

    /// <summary>The default its description names ("… (default 200)."), else its type hint, else VALUE.</summary>
    static string ExampleValue(KernelDirectiveParameter parameter)
    {
        var match = System.Text.RegularExpressions.Regex.Match(parameter.Description ?? "", @"default '?([^)',;\s]+)");
        return match.Success ? match.Groups[1].Value : string.IsNullOrEmpty(parameter.TypeHint) ? "VALUE" : parameter.TypeHint;
    }
}
