using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DotNet.Interactive;

namespace EfficientML.Interactive.Scripting;

/// <summary>
/// Turns one magic line into its C# equivalent, for tutorials exported as scripts. The line is read as the kernel reads it
/// (checked by <see cref="OptionSyntax"/>, options bound by name to the magic's command class) and the command class's
/// <see cref="ICSharpEquivalent.ToCSharp"/> writes the code. Nothing here knows a magic by name: the plug-ins add their
/// magics to a notebook session of a bare kernel (no C# kernel) and each translates itself.
/// </summary>
public static class MagicTranslation
{
    static readonly Lazy<MagicSet> Magics = new(() =>
    {
        var session = NotebookSession.GetOrCreate(new CompositeKernel(), out _);
        foreach (var plugin in NotebookExtension.Plugins) plugin.AddMagics(session.Magics);
        return session.Magics;
    });

    static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    /// <summary>The names of the magics this extension adds (each with a C# equivalent or an error saying it has none).</summary>
    public static IReadOnlyList<string> MagicNames => Magics.Value.Added.Select(a => a.Name).ToList();

    /// <summary>
    /// The C# statements that do what <paramref name="line"/> (<c>#!name --option value …</c>) does. Throws a
    /// <see cref="MagicException"/> for a line the magic would refuse, an unknown magic, or a magic without a C# equivalent.
    /// </summary>
    public static string ToCSharp(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        line = line.Trim();
        var words = OptionSyntax.Words(line);
        if (words.Count == 0 || !words[0].Text.StartsWith("#!", StringComparison.Ordinal))
            throw new MagicException($"'{line}' is not a magic line.");
        var name = words[0].Text;
        if (!Magics.Value.TryGet(name, out var directive, out var commandType))
            throw new MagicException($"{name} is not a magic of this extension ({string.Join(", ", MagicNames)}), so it has no C# equivalent.");
        OptionSyntax.Check(line, directive);
        var options = new JsonObject();
        var parameters = directive.Parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var implicitParameters = new Queue<string>(directive.Parameters.Where(p => p.AllowImplicitName).Select(p => p.Name));
        for (int i = 1; i < words.Count; i++)
        {
            var (word, quoted) = words[i];
            if (!quoted && parameters.TryGetValue(word, out var parameter))
            {
                options[Property(word)] = parameter.Flag ? JsonValue.Create(true) : JsonValue.Create(words[++i].Text);
                continue;
            }
            if (implicitParameters.Count > 0) options[Property(implicitParameters.Dequeue())] = JsonValue.Create(word);
        }
        var command = options.Deserialize(commandType, Json);
        return command is ICSharpEquivalent equivalent
            ? equivalent.ToCSharp()
            : throw new MagicException($"{name} has no C# equivalent for scripts ({commandType.Name} does not implement {nameof(ICSharpEquivalent)}).");
    }

    /// <summary>The command class's property for an option: <c>--kv-heads</c> → <c>KvHeads</c>.</summary>
    static string Property(string option) =>
        string.Concat(option.TrimStart('-').Split('-', StringSplitOptions.RemoveEmptyEntries).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}
