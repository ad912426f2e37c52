using System.Globalization;
using System.Reflection;
using System.Text;
using EfficientML.Core;

namespace EfficientML.Interactive;

/// <summary>Pieces of C# source for the magics' <see cref="ICSharpEquivalent"/> translations: literals, names, option records.</summary>
public static class CSharpSource
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>A C# string literal.</summary>
    public static string String(string text)
    {
        var s = new StringBuilder("\"");
        foreach (var c in text)
        {
            s.Append(c switch
            {
                '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", '\0' => "\\0",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return s.Append('"').ToString();
    }

    /// <summary>A C# literal for a number, flag, text or enum value.</summary>
    public static string Literal(object? value) => value switch
    {
        null => "null",
        string text => String(text),
        bool b => b ? "true" : "false",
        double d => d.ToString("R", Invariant),
        float f => f.ToString("R", Invariant) + "f",
        long l => l.ToString(Invariant) + "L",
        int or short or byte => Convert.ToString(value, Invariant)!,
        Enum e => $"{e.GetType().Name}.{e}",
        IEnumerable<string> words => "[" + string.Join(", ", words.Select(String)) + "]",
        IEnumerable<double> numbers => "[" + string.Join(", ", numbers.Select(n => Literal(n))) + "]",
        IEnumerable<int> numbers => "[" + string.Join(", ", numbers.Select(n => Literal(n))) + "]",
        _ => throw new ArgumentException($"No C# literal for a {value.GetType().Name}."),
    };

    /// <summary>
    /// An object initializer for <paramref name="value"/> (a record of options): <c>new T { A = 1, B = 2 }</c> with every
    /// settable property that differs from <c>new T()</c>'s, so the source says what the magic changed.
    /// </summary>
    public static string Initializer<T>(T value) where T : new()
    {
        var defaults = new T();
        var set = new List<string>();
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0) continue;
            var (mine, theirs) = (property.GetValue(value), property.GetValue(defaults));
            if (Equals(mine, theirs) || mine is System.Collections.IEnumerable and not string && theirs is System.Collections.IEnumerable and not string &&
                ((System.Collections.IEnumerable)mine).Cast<object>().SequenceEqual(((System.Collections.IEnumerable)theirs).Cast<object>())) continue;
            set.Add($"{property.Name} = {Literal(mine)}");
        }
        return set.Count == 0 ? $"new {typeof(T).Name}()" : $"new {typeof(T).Name} {{ {string.Join(", ", set)} }}";
    }

    /// <summary>The training options a magic asks for, as a C# expression, shortened in quick mode as the magic does.</summary>
    public static string QuickTraining(string magic, TrainingOptions asked, string budget) =>
        $"QuickMode.Apply({String(magic)}, {Initializer(asked)}, {budget}, quick)";

    /// <summary>Refuses the options in <paramref name="given"/> that are set: they have no translation yet.</summary>
    public static void Refuse(string magic, params (string Option, bool Given)[] given)
    {
        var set = given.Where(g => g.Given).Select(g => g.Option).ToList();
        if (set.Count > 0)
            throw new MagicException($"{magic} {string.Join(", ", set)}: no C# translation for {(set.Count == 1 ? "this option" : "these options")} in scripts yet; " +
                                     "write the C# call in the notebook instead of the magic, or drop the option.");
    }
}
