using Microsoft.DotNet.Interactive.Documents;
using NotebookRunner;

namespace Notebooks.Tests;

/// <summary>The page itself, from outputs made up here (no kernel).</summary>
public sealed class HtmlPageTests
{
    private static NotebookRunResult Run(params CellOutput[] outputs)
    {
        var document = new InteractiveDocument(
        [
            new InteractiveDocumentElement("Results below.", "markdown", []),
            new InteractiveDocumentElement("var x = \"<tag>\"; // show it", "csharp", []),
        ]);
        var cells = new[] { new CellRecord(document.Elements[0], 1), new CellRecord(document.Elements[1], 2) };
        cells[1].State = CellState.Succeeded;
        cells[1].ExecutionCount = 1;
        cells[1].Duration = TimeSpan.FromSeconds(1.24);
        cells[1].Outputs.AddRange(outputs);
        return new NotebookRunResult
        {
            NotebookPath = "/tmp/made-up.ipynb",
            Title = "made-up",
            Document = document,
            Cells = cells,
            BackendName = InProcessBackend.DisplayName,
            Parameters = [new("quick", "true")],
        };
    }

    [Fact]
    public void Plain_text_is_escaped_and_html_is_inserted_raw()
    {
        var html = HtmlPage.Render(Run(
            CellOutput.Text(OutputKind.StandardOutput, "a < b && c > d"),
            new CellOutput(OutputKind.Display, [new("text/html", "<script>window.charted = true;</script>"), new("text/plain", "chart")])));

        Assert.Contains("<pre class=\"text\">a &lt; b &amp;&amp; c &gt; d</pre>", html);
        Assert.Contains("<script>window.charted = true;</script>", html);
        Assert.DoesNotContain(">chart<", html);
    }

    [Fact]
    public void Images_become_data_uris()
    {
        var html = HtmlPage.Render(Run(new CellOutput(OutputKind.Display, [new("image/png", "iVBORw0KGgo=\n")])));

        Assert.Contains("<img alt=\"\" src=\"data:image/png;base64,iVBORw0KGgo=\">", html);
    }

    [Fact]
    public void Errors_are_styled_and_code_is_escaped_with_its_time()
    {
        var html = HtmlPage.Render(Run(CellOutput.Text(OutputKind.Error, "System.Exception: <boom>")));

        Assert.Contains("<div class=\"output error\"><pre class=\"text\">System.Exception: &lt;boom&gt;</pre></div>", html);
        Assert.Contains("&quot;&lt;tag&gt;&quot;", html);
        Assert.Contains("<span class=\"time\">1.2 s</span>", html);
        Assert.Contains("<h1>made-up</h1>", html);
        Assert.Contains("parameters: <code>quick=true</code>", html);
    }

    [Fact]
    public void Local_markdown_images_are_inlined()
    {
        var folder = Path.Combine(Path.GetTempPath(), "notebooks-tests", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "figure.png"), [0x89, 0x50, 0x4E, 0x47]);
        try
        {
            var html = MarkdownHtml.Render("![a figure](figure.png) and ![remote](https://example.org/x.png)", folder);

            Assert.Contains("src=\"data:image/png;base64,iVBORw==\"", html);
            Assert.Contains("src=\"https://example.org/x.png\"", html);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
