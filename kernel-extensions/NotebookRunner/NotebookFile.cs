using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;

namespace NotebookRunner;

/// <summary>Reads .ipynb and .dib notebooks and writes executed ones as .ipynb.</summary>
internal static class NotebookFile
{
    public const string MarkdownKernel = "markdown";

    public static readonly string[] Extensions = [".ipynb", ".dib"];

    public static bool IsNotebook(string path) =>
        Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    public static InteractiveDocument Read(string path)
    {
        var text = File.ReadAllText(path);
        var isDib = Path.GetExtension(path).Equals(".dib", StringComparison.OrdinalIgnoreCase);
        try
        {
            return isDib ? CodeSubmission.Parse(text, KernelInfos()) : Notebook.Parse(text, KernelInfos());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path} is not a readable {(isDib ? ".dib" : ".ipynb")} notebook: {e.Message}", e);
        }
    }

    public static void WriteIpynb(InteractiveDocument document, string path)
    {
        AddJupyterMetadata(document);
        var temp = path + ".tmp";
        File.WriteAllText(temp, document.ToJupyterJson(defaultLanguage: null), new System.Text.UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// Notebook-level metadata as VS Code writes it, for notebooks that lack it (those read from .dib). The writer's
    /// own kernel-info merging is avoided: it stumbles over the plain dictionaries the .ipynb parser produces.
    /// </summary>
    private static void AddJupyterMetadata(InteractiveDocument document)
    {
        var metadata = document.Metadata;
        if (!metadata.ContainsKey("polyglot_notebook"))
        {
            metadata.Remove("kernelInfo");
            var kernels = document.Elements.Where(e => !IsMarkdown(e))
                                  .Select(e => string.IsNullOrEmpty(e.KernelName) ? "csharp" : e.KernelName)
                                  .Prepend("csharp")
                                  .Distinct(StringComparer.Ordinal);
            metadata["polyglot_notebook"] = new Dictionary<string, object>
            {
                ["kernelInfo"] = new Dictionary<string, object>
                {
                    ["defaultKernelName"] = "csharp",
                    ["items"] = kernels.Select(k => new Dictionary<string, object> { ["aliases"] = Array.Empty<string>(), ["name"] = k })
                                       .ToList(),
                },
            };
        }

        metadata.TryAdd("kernelspec", new Dictionary<string, object>
        {
            ["display_name"] = ".NET (C#)",
            ["language"] = "C#",
            ["name"] = ".net-csharp",
        });
        // Jupyter's tools (nbconvert, JupyterLab) pick the highlighter from language_info; VS Code's "polyglot-notebook"
        // name means nothing to them, so the C# description the .NET kernel itself reports is written instead.
        if (!metadata.TryGetValue("language_info", out var info) || IsPolyglotLanguageInfo(info))
            metadata["language_info"] = CSharpLanguageInfo();
    }

    /// <summary>language_info for C# cells, as the .NET kernel reports it to Jupyter.</summary>
    public static Dictionary<string, object> CSharpLanguageInfo() => new()
    {
        ["name"] = "C#",
        ["file_extension"] = ".cs",
        ["mimetype"] = "text/x-csharp",
        ["pygments_lexer"] = "csharp",
    };

    private static bool IsPolyglotLanguageInfo(object? info) => info switch
    {
        IDictionary<string, object> d => d.TryGetValue("name", out var n) && n?.ToString() == "polyglot-notebook",
        System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Object } json =>
            json.TryGetProperty("name", out var name) && name.ToString() == "polyglot-notebook",
        null => true,
        _ => false,
    };

    public static bool IsMarkdown(InteractiveDocumentElement element) =>
        string.Equals(element.KernelName, MarkdownKernel, StringComparison.OrdinalIgnoreCase) ||
        string.Equals(element.KernelName, "md", StringComparison.OrdinalIgnoreCase);

    /// <summary>Cell tags (ipynb metadata "tags"), whatever collection type the parser produced.</summary>
    public static IReadOnlyList<string> Tags(InteractiveDocumentElement element)
    {
        if (element.Metadata is null || !element.Metadata.TryGetValue("tags", out var value) || value is null)
        {
            return [];
        }

        return value switch
        {
            string single => [single],
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Array } json =>
                json.EnumerateArray().Select(t => t.ToString()).ToList(),
            System.Collections.IEnumerable many => many.Cast<object?>().Select(t => t?.ToString() ?? "").ToList(),
            _ => [],
        };
    }

    /// <summary>The first level-1 heading of the first markdown cells, else the file name.</summary>
    public static string Title(InteractiveDocument document, string path)
    {
        foreach (var element in document.Elements.Where(IsMarkdown))
        {
            foreach (var line in element.Contents.Split('\n'))
            {
                var trimmed = line.Trim();
                if (trimmed.StartsWith("# ", StringComparison.Ordinal))
                {
                    return trimmed[2..].Trim();
                }
            }
        }

        return Path.GetFileNameWithoutExtension(path);
    }

    /// <summary>The kernels a notebook may name; the parsers need them to recognise #!kernel lines.</summary>
    public static KernelInfoCollection KernelInfos()
    {
        var infos = new KernelInfoCollection
        {
            new KernelInfo("csharp", "C#", ["c#", "C#", "cs"]),
            new KernelInfo("fsharp", "F#", ["f#", "F#", "fs"]),
            new KernelInfo("pwsh", "PowerShell", ["powershell"]),
            new KernelInfo("html", "HTML", []),
            new KernelInfo("javascript", "JavaScript", ["js"]),
            new KernelInfo("mermaid", "Mermaid", []),
            new KernelInfo(MarkdownKernel, "Markdown", ["md"]),
            new KernelInfo("value", null, []),
        };
        infos.DefaultKernelName = "csharp";
        return infos;
    }
}
