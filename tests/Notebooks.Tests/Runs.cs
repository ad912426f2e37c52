using System.Text.Json.Nodes;
using NotebookRunner;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>Runs notebooks the way the CLI does and reads back what was written.</summary>
internal static class Runs
{
    public static async Task<NotebookRunResult> RunAsync(
        string notebook,
        string output,
        ITestOutputHelper? testOutput = null,
        BackendKind backend = BackendKind.InProcess,
        TimeSpan? cellTimeout = null,
        params (string Name, string Value)[] parameters)
    {
        var log = new StringWriter();
        var options = new RunOptions(
            output,
            parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)).ToList(),
            backend,
            cellTimeout ?? TimeSpan.FromMinutes(10));
        try
        {
            return await NotebookExecution.RunAsync(notebook, options, log, CancellationToken.None);
        }
        finally
        {
            testOutput?.WriteLine(log.ToString());
        }
    }

    /// <summary>The executed notebook's cells as JSON.</summary>
    public static JsonArray ExecutedCells(NotebookRunResult result) =>
        JsonNode.Parse(File.ReadAllText(result.IpynbPath!))!["cells"]!.AsArray();

    /// <summary>Every string inside a cell's outputs in the executed notebook (texts, data, error names), joined.</summary>
    public static string OutputText(JsonNode cell) => string.Concat(Strings(cell["outputs"]));

    private static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonArray array => array.SelectMany(Strings),
        JsonObject obj => obj.SelectMany(p => Strings(p.Value)),
        JsonValue value when value.TryGetValue<string>(out var text) => [text],
        _ => [],
    };
}
