using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Documents;

namespace NotebookRunner;

/// <summary>Turns a run into the notebook document written as the executed .ipynb.</summary>
internal static partial class ExecutedDocument
{
    public static InteractiveDocument Build(NotebookRunResult result)
    {
        var elements = new List<InteractiveDocumentElement>();
        foreach (var cell in result.Cells)
        {
            var element = cell.Element;
            // nbformat 4.5 wants cell ids; keep the notebook's own, derive stable ones where missing.
            element.Id ??= cell.Anchor;
            element.Metadata ??= new Dictionary<string, object>();
            if (cell.IsCode)
            {
                element.ExecutionOrder = cell.ExecutionCount;
                element.Outputs.Clear();
                element.Outputs.AddRange(cell.Outputs.Select(o => ToElement(o, cell.ExecutionCount)));
                element.Metadata["notebook_runner"] = new Dictionary<string, object>
                {
                    ["status"] = cell.State switch
                    {
                        CellState.Succeeded => "succeeded",
                        CellState.Failed => "failed",
                        _ => "not run",
                    },
                    ["duration_seconds"] = Math.Round(cell.Duration.TotalSeconds, 3),
                };
            }

            elements.Add(element);
        }

        var document = new InteractiveDocument(elements);
        foreach (var (key, value) in result.Document.Metadata)
        {
            document.Metadata[key] = value;
        }

        document.Metadata["notebook_runner"] = new Dictionary<string, object>
        {
            ["source"] = Path.GetFileName(result.NotebookPath),
            ["backend"] = result.BackendName,
            ["parameters"] = result.Parameters.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => (object)g.Last().Value),
            ["started_at"] = result.StartedAt.ToString("O", CultureInfo.InvariantCulture),
            ["duration_seconds"] = Math.Round(result.Duration.TotalSeconds, 3),
            ["status"] = result.Succeeded ? "succeeded" : "failed",
        };
        return document;
    }

    private static InteractiveDocumentOutputElement ToElement(CellOutput output, int executionCount)
    {
        switch (output.Kind)
        {
            case OutputKind.StandardOutput:
                return new TextElement(output.PlainText, "stdout");
            case OutputKind.StandardError:
                return new TextElement(output.PlainText, "stderr");
            case OutputKind.Error:
                var (name, value, trace) = SplitError(output.PlainText);
                return new ErrorElement(value, name, trace);
            case OutputKind.ReturnValue:
                var returned = new ReturnValueElement { ExecutionOrder = executionCount };
                foreach (var d in output.Data)
                {
                    returned.Data[d.MimeType] = d.Value;
                }

                return returned;
            default:
                return new DisplayElement(output.Data.GroupBy(d => d.MimeType)
                                                .ToDictionary(g => g.Key, g => (object)g.First().Value));
        }
    }

    /// <summary>"System.IO.IOException: disk full\n   at …" becomes (name, message, trace lines).</summary>
    internal static (string Name, string Value, string[] Trace) SplitError(string message)
    {
        var lines = message.Replace("\r\n", "\n").Split('\n');
        var match = ExceptionHeader().Match(lines[0]);
        return match.Success
            ? (match.Groups["name"].Value, match.Groups["message"].Value, lines)
            : ("Error", lines[0], lines);
    }

    [GeneratedRegex(@"^(?<name>[\w.]*(Exception|Error)):\s*(?<message>.*)$")]
    private static partial Regex ExceptionHeader();
}
