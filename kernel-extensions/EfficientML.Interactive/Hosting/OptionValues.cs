using System.Globalization;
using Microsoft.CodeAnalysis.CSharp;

namespace EfficientML.Interactive;

/// <summary>
/// Reads magic-command option values. The kernel hands every value over as text; reading it here (rather than
/// letting JSON binding fail) gives messages that name the option and what it accepts.
/// </summary>
static class OptionValues
{
    /// <summary>A whole number of at least <paramref name="min"/>, or <paramref name="fallback"/> when absent.</summary>
    public static int Int(string? text, string option, int fallback, int min = 1)
    {
        if (text is null) return fallback;
        if (!int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw new MagicException($"{option} takes a whole number (got '{text}'), e.g. {option} {Math.Max(min, fallback)}.");
        if (value < min)
            throw new MagicException($"{option} must be {(min == 1 ? "positive" : min == 0 ? "zero or more" : $"at least {min}")} (got {value}), e.g. {option} {Math.Max(min, fallback)}.");
        return value;
    }

    /// <summary>A whole number of at least <paramref name="min"/>, or null when absent.</summary>
    public static int? OptionalInt(string? text, string option, int example, int min = 1) =>
        text is null ? null : Int(text, option, example, min);

    /// <summary>Any 64-bit whole number, or <paramref name="fallback"/> when absent.</summary>
    public static long Long(string? text, string option, long fallback)
    {
        if (text is null) return fallback;
        if (!long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw new MagicException($"{option} takes a whole number (got '{text}'), e.g. {option} {fallback}.");
        return value;
    }

    /// <summary>A positive finite number (3e-3 and 0.003 both work), or <paramref name="fallback"/> when absent.</summary>
    public static double PositiveDouble(string? text, string option, double fallback)
    {
        if (text is null) return fallback;
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw new MagicException($"{option} takes a number (got '{text}'), e.g. {option} {fallback.ToString("G3", CultureInfo.InvariantCulture)}.");
        if (value <= 0)
            throw new MagicException($"{option} must be positive (got {text}), e.g. {option} {fallback.ToString("G3", CultureInfo.InvariantCulture)}.");
        return value;
    }

    /// <summary>Any finite number (negative too), or null when absent.</summary>
    public static double? OptionalDouble(string? text, string option, double example)
    {
        if (text is null) return null;
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw new MagicException($"{option} takes a number (got '{text}'), e.g. {option} {example.ToString("G3", CultureInfo.InvariantCulture)}.");
        return value;
    }

    /// <summary>A name usable as a C# variable, or <paramref name="fallback"/> when absent.</summary>
    public static string VariableName(string? text, string option, string fallback)
    {
        if (text is null) return fallback;
        var name = text.Trim();
        if (!SyntaxFacts.IsValidIdentifier(name) || SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None)
            throw new MagicException($"{option} '{text}' is not a usable C# variable name: use letters, digits and '_', not starting with a digit, e.g. {option} {fallback}2.");
        return name;
    }
}
