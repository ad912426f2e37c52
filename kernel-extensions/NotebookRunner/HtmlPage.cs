using System.Net;
using System.Text;

namespace NotebookRunner;

/// <summary>
/// One self-contained page per executed notebook: markdown rendered, code with its outputs inline. HTML outputs are
/// inserted raw so their scripts run (charts carry plotly.js inline from the extension's first output), which is
/// also why the page never links a CDN: it must work offline.
/// </summary>
internal static class HtmlPage
{
    public static string Render(NotebookRunResult result)
    {
        var notebookDirectory = Path.GetDirectoryName(result.NotebookPath);
        var html = new StringBuilder();
        html.Append(EfficientML.Pages.PageStyle.Start(result.Title, "EfficientML NotebookRunner"));
        RenderHeader(html, result);
        if (!result.Cells.Any(c => c.IsMarkdown && c.Code.Split('\n').Any(l => l.TrimStart().StartsWith("# ", StringComparison.Ordinal))))
        {
            html.Append($"<h1>{Encode(result.Title)}</h1>\n");
        }

        foreach (var cell in result.Cells)
        {
            if (cell.IsMarkdown)
            {
                html.Append($"<section class=\"cell markdown\" id=\"{cell.Anchor}\">\n{MarkdownHtml.Render(cell.Code, notebookDirectory)}</section>\n");
            }
            else
            {
                RenderCodeCell(html, cell);
            }
        }

        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void RenderHeader(StringBuilder html, NotebookRunResult result)
    {
        var ran = result.CodeCells.Count(c => c.State != CellState.NotRun);
        var parameters = result.Parameters.Count == 0
            ? "defaults"
            : string.Join(" ", result.Parameters.Select(p => $"{p.Key}={p.Value}"));
        var status = result.Succeeded
            ? "<span class=\"status ok\">✓ all cells succeeded</span>"
            : "<span class=\"status failed\">✗ failed</span>";
        html.Append($"""
            <header class="run">
            <div class="file">{Encode(Path.GetFileName(result.NotebookPath))}</div>
            <div>{status} · {ran} code cells run in {NotebookExecution.FormatDuration(result.Duration)} · {Encode(result.BackendName)} · parameters: <code>{Encode(parameters)}</code> · {result.StartedAt:yyyy-MM-dd HH:mm}</div>
            </header>

            """);
        if (!result.Succeeded)
        {
            var where = result.FailedCell is { } cell
                ? $" at <a href=\"#{cell.Anchor}\">{Encode(cell.Label)}</a> · <code>{Encode(cell.FirstLine)}</code>"
                : "";
            html.Append($"<div class=\"failure\"><strong>Run failed</strong>{where}<pre>{Encode(ErrorText.Summary(result.FailureMessage!))}</pre></div>\n");
        }
    }

    private static void RenderCodeCell(StringBuilder html, CellRecord cell)
    {
        var classes = "cell code" + cell.State switch
        {
            CellState.Failed => " failed",
            CellState.NotRun => " not-run",
            _ => "",
        } + (cell.IsInjected ? " injected" : "");
        var count = cell.ExecutionCount > 0 ? $"[{cell.ExecutionCount}]" : "[ ]";
        var time = cell.State switch
        {
            CellState.NotRun => "not run",
            CellState.Failed => $"failed after {NotebookExecution.FormatDuration(cell.Duration)}",
            _ => NotebookExecution.FormatDuration(cell.Duration),
        };
        html.Append($"""
            <section class="{classes}" id="{cell.Anchor}">
            <div class="head"><span class="count">{count}</span><span class="label">{Encode(cell.Label)}</span><span class="time">{time}</span></div>
            <pre class="source"><code>{CodeHighlighter.ToHtml(cell.Code, cell.KernelName)}</code></pre>

            """);
        if (cell.Outputs.Count > 0)
        {
            html.Append("<div class=\"outputs\">\n");
            foreach (var output in cell.Outputs)
            {
                RenderOutput(html, output);
            }

            html.Append("</div>\n");
        }

        html.Append("</section>\n");
    }

    private static void RenderOutput(StringBuilder html, CellOutput output)
    {
        switch (output.Kind)
        {
            case OutputKind.StandardOutput:
                html.Append($"<div class=\"output stdout\"><pre class=\"text\">{Encode(output.PlainText)}</pre></div>\n");
                return;
            case OutputKind.StandardError:
                html.Append($"<div class=\"output stderr\"><pre class=\"text\">{Encode(output.PlainText)}</pre></div>\n");
                return;
            case OutputKind.Error:
                html.Append($"<div class=\"output error\"><pre class=\"text\">{Encode(output.PlainText)}</pre></div>\n");
                return;
        }

        html.Append("<div class=\"output display\">");
        if (output.Get("text/html") is { } rich)
        {
            html.Append(rich);
        }
        else if (output.Get("image/svg+xml") is { } svg)
        {
            html.Append(svg);
        }
        else if (output.Data.FirstOrDefault(d => d.MimeType is "image/png" or "image/jpeg" or "image/gif") is { } image)
        {
            var base64 = string.Concat(image.Value.Where(c => !char.IsWhiteSpace(c)));
            html.Append($"<img alt=\"\" src=\"data:{image.MimeType};base64,{base64}\">");
        }
        else if (output.Get("text/markdown") is { } markdown)
        {
            html.Append(MarkdownHtml.Render(markdown));
        }
        else if (output.Data.Count > 0)
        {
            html.Append($"<pre class=\"text\">{Encode(output.Get("text/plain") ?? output.Data[0].Value)}</pre>");
        }

        html.Append("</div>\n");
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
