using System.Text.Json.Nodes;

namespace Notebooks.Tests;

/// <summary>A temporary folder of tiny notebooks, deleted afterwards.</summary>
internal sealed class TempNotebooks : IDisposable
{
    public TempNotebooks()
    {
        Folder = Path.Combine(Path.GetTempPath(), "notebooks-tests", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public string Output => Path.Combine(Folder, "out");

    /// <summary>Writes an .ipynb with the given cells (see <see cref="Code"/> and <see cref="Markdown"/>).</summary>
    public string Ipynb(string name, params JsonObject[] cells)
    {
        var notebook = new JsonObject
        {
            ["cells"] = new JsonArray(cells.Cast<JsonNode>().ToArray()),
            ["metadata"] = new JsonObject
            {
                ["kernelspec"] = new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" },
                ["language_info"] = new JsonObject { ["name"] = "polyglot-notebook" },
                ["polyglot_notebook"] = new JsonObject
                {
                    ["kernelInfo"] = new JsonObject
                    {
                        ["defaultKernelName"] = "csharp",
                        ["items"] = new JsonArray(new JsonObject { ["aliases"] = new JsonArray(), ["name"] = "csharp" }),
                    },
                },
            },
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
        };
        return Write(name, notebook.ToJsonString());
    }

    /// <summary>Writes a .dib: each cell is (kernel name, source).</summary>
    public string Dib(string name, params (string Kernel, string Source)[] cells) =>
        Write(name, string.Join("\n\n", cells.Select(c => $"#!{c.Kernel}\n\n{c.Source}")) + "\n");

    public string Write(string name, string content)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    public static JsonObject Code(string source, params string[] tags)
    {
        var metadata = new JsonObject { ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" } };
        if (tags.Length > 0)
        {
            metadata["tags"] = new JsonArray(tags.Select(t => (JsonNode)t).ToArray());
        }

        return new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["metadata"] = metadata,
            ["outputs"] = new JsonArray(),
            ["source"] = source,
        };
    }

    public static JsonObject Markdown(string source) => new()
    {
        ["cell_type"] = "markdown",
        ["metadata"] = new JsonObject(),
        ["source"] = source,
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A kernel may still hold a file; the temp folder is cleaned eventually.
        }
    }
}
