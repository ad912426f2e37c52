using System.Globalization;
using Microsoft.CodeAnalysis.CSharp;

namespace EfficientML.Interactive;

/// <summary>
/// Reads magic-command option values. The kernel hands every value over as text; reading it here (rather than
/// letting JSON binding fail) gives messages that name the option and what it accepts.
/// </summary>
static class OptionValues
{
    /// <summary>
    /// A whole number from <paramref name="min"/> to <paramref name="max"/>, or <paramref name="fallback"/> when absent. The
    /// message quotes the text as written (so -1e30 or 2147483648 is not shown as some other number); <paramref name="why"/>
    /// says where the range comes from ("the model has blocks 0 to 7").
    /// </summary>
    public static int Int(string? text, string option, int fallback, int min = 1, int max = int.MaxValue, string? why = null)
    {
        if (text is null) return fallback;
        var trimmed = text.Trim();
        string Example() => $"{option} {Math.Clamp(fallback, min, max)}";
        if (!long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            bool number = double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && !double.IsNaN(real);
            throw new MagicException(number && (real < min || real > max)
                ? OutOfRange(option, trimmed, min, max, why, Example())
                : $"{option} takes a whole number{Within(min, max)} (got '{trimmed}'), e.g. {Example()}.");
        }
        if (value < min || value > max)
            throw new MagicException(OutOfRange(option, trimmed, min, max, why, Example()));
        return (int)value;
    }

    /// <summary>"--steps must be 1 to 10,000,000 (got 0), e.g. --steps 200." — the range, the text as written, why, an example.</summary>
    static string OutOfRange(string option, string text, double min, double max, string? why, string example) =>
        $"{option} must be {Range(min, max)} (got {text}){(why is null ? "" : $": {why}")}, e.g. {example}.";

    static string Range(double min, double max) =>
        min > 0 && min <= 1e-9 ? $"positive, at most {Show(max)}"
        : max >= int.MaxValue ? (min == 1 ? "positive" : min == 0 ? "zero or more" : $"at least {Show(min)}")
        : min == max ? Show(min)
        : $"{Show(min)} to {Show(max)}";

    /// <summary>" from 0 to 1" for a parse error's message ("" when the range is open).</summary>
    static string Within(double min, double max) => max >= int.MaxValue && min <= int.MinValue ? "" : $" ({Range(min, max)})";

    /// <summary>Whole numbers with thousands separators, others in four significant digits.</summary>
    static string Show(double x) => x == Math.Floor(x) && Math.Abs(x) < 1e15 ? Format.Count((long)x) : Format.Number(x);

    /// <summary>
    /// A number from <paramref name="min"/> to <paramref name="max"/> (3e-3 and 0.003 both work), or <paramref name="fallback"/>
    /// when absent; a tiny positive <paramref name="min"/> reads as "must be positive".
    /// </summary>
    public static double Double(string? text, string option, double fallback, double min, double max, string? why = null)
    {
        if (text is null) return fallback;
        var trimmed = text.Trim();
        if (!double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw new MagicException($"{option} takes a number{Within(min, max)} (got '{trimmed}'), e.g. {option} {Format.Number(fallback)}.");
        if (value < min || value > max)
            throw new MagicException(OutOfRange(option, trimmed, min, max, why, $"{option} {Format.Number(fallback)}"));
        return value;
    }

    /// <summary>A whole number of at least <paramref name="min"/>, or null when absent.</summary>
    public static int? OptionalInt(string? text, string option, int example, int min = 1) =>
        text is null ? null : Int(text, option, example, min);

    /// <summary>A 64-bit whole number from <paramref name="min"/> to <paramref name="max"/> (a seed, say), or <paramref name="fallback"/> when absent.</summary>
    public static long Long(string? text, string option, long fallback, long min = long.MinValue, long max = long.MaxValue)
    {
        if (text is null) return fallback;
        var trimmed = text.Trim();
        if (!long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            throw new MagicException($"{option} takes a whole number{(min == long.MinValue ? "" : $" from {min:N0} to {max:N0}")} (got '{trimmed}'), e.g. {option} {fallback}.");
        if (value < min || value > max)
            throw new MagicException($"{option} must be {min:N0} to {max:N0} (got {trimmed}), e.g. {option} {fallback}.");
        return value;
    }

    /// <summary>The value of an option the magic cannot run without, or <paramref name="missing"/> as the message.</summary>
    public static string Required(string? text, string missing) =>
        string.IsNullOrWhiteSpace(text) ? throw new MagicException(missing) : text.Trim();

    /// <summary>A comma-separated list of whole numbers (e.g. "0,1,7"), each from <paramref name="min"/> to <paramref name="max"/>; null when absent.</summary>
    public static IReadOnlyList<int>? WholeNumbers(string? text, string option, string example, int min, int max, string? why = null)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Any(p => p.Length == 0 || !long.TryParse(p, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
            throw new MagicException($"{option} takes whole numbers separated by commas, without spaces or brackets (got '{text.Trim()}'), e.g. {option} {example}.");
        return parts.Select(p => Int(p, option, min, min, max, why)).ToList();
    }

    /// <summary>Two whole numbers written AxB (e.g. "64x128"), each within its range.</summary>
    public static (int First, int Second) Pair(string text, string option, string example,
        (string Name, int Min, int Max, string? Why) first, (string Name, int Min, int Max, string? Why) second)
    {
        var parts = text.Trim().Split(['x', 'X', '×', '*'], StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || parts.Any(p => p.Length == 0))
            throw new MagicException($"{option} takes {first.Name.ToUpperInvariant()}x{second.Name.ToUpperInvariant()}, two whole numbers (got '{text.Trim()}'), e.g. {option} {example}.");
        return (Int(parts[0], $"{option} ({first.Name})", first.Min, first.Min, first.Max, first.Why),
                Int(parts[1], $"{option} ({second.Name})", second.Min, second.Min, second.Max, second.Why));
    }

    /// <summary>A comma-separated list of numbers (e.g. "0.25,0.5,0.75,1"), each from <paramref name="min"/> to <paramref name="max"/>; null when absent.</summary>
    public static IReadOnlyList<double>? Numbers(string? text, string option, string example, double min, double max)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Any(p => !double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v)))
            throw new MagicException($"{option} takes numbers{Within(min, max)} separated by commas, without spaces or brackets (got '{text.Trim()}'), e.g. {option} {example}.");
        return parts.Select(p => Double(p, option, min, min, max)).ToList();
    }

    /// <summary>A comma-separated list of names (e.g. "blocks.0.mlp.fc.weight,lm_head.weight"); null when absent.</summary>
    public static IReadOnlyList<string>? Names(string? text, string option, string example)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Any(p => p.Length == 0))
            throw new MagicException($"{option} takes names separated by commas (got '{text.Trim()}'), e.g. {option} {example}.");
        return parts;
    }

    /// <summary>A name usable as a C# variable, or <paramref name="fallback"/> when absent.</summary>
    public static string VariableName(string? text, string option, string fallback)
    {
        if (text is null) return fallback;
        var name = text.Trim();
        // ASCII only: C# also accepts invisible formatting characters and other scripts, which make names that look alike
        // but differ, or that the C# kernel then fails to declare.
        bool plain = name.Length is > 0 and <= MaxNameLength && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_');
        if (!plain || !SyntaxFacts.IsValidIdentifier(name) || SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None)
            throw new MagicException($"{option} '{Shown(name)}' is not a usable C# variable name: use up to {MaxNameLength} ASCII letters, digits and '_', " +
                                     $"not starting with a digit and not a C# keyword, e.g. {option} {fallback}2.");
        return name;
    }

    /// <summary>Longest variable name a magic accepts.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The text for a message: invisible characters shown as \uXXXX, long text cut.</summary>
    public static string Shown(string text)
    {
        var visible = string.Concat(text.Take(80).Select(c => char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format
            ? $"\\u{(int)c:X4}" : c.ToString()));
        return text.Length > 80 ? visible + $"… ({text.Length:N0} characters)" : visible;
    }
}
