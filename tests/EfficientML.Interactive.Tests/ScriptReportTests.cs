using EfficientML.Interactive;
using EfficientML.Interactive.Scripting;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive.Tests;

/// <summary>
/// A script's report (what an exported tutorial writes instead of notebook outputs): one offline page with plotly.js
/// inline once, each output drawn by the extension's formatters, text as text, HTML as it is, updates in place, failures marked.
/// </summary>
public class ScriptReportTests
{
    static ScriptReport NewReport()
    {
        var formatters = new FormatterSet();
        foreach (var plugin in NotebookExtension.Plugins) plugin.RegisterFormatters(formatters);
        return new ScriptReport("demo");
    }

    [Fact]
    public void The_page_carries_plotly_once_and_draws_each_output_as_a_notebook_would()
    {
        var report = NewReport();
        report.Add(SeriesChart.Bars(["a", "b"], [1.0, 2.0], title: "two bars", yTitle: "y"), null, 12);
        report.Add("<b>bold</b>", HtmlFormatter.MimeType, 13);
        report.Add("1 < 2", null, 14);
        var html = report.Render();

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Equal(1, CountOf(html, "if (!window.Plotly) {"));   // plotly.js inline, once: the page works offline
        Assert.Contains("class=\"efml-chart\"", html);
        Assert.Contains("two bars", html);
        Assert.Contains("<b>bold</b>", html);
        Assert.Contains("1 &lt; 2", html);
        Assert.Contains("line 12", html);
        Assert.Contains("✓ ran to the end", html);
        Assert.Contains("header.run", html);   // the runner's page style
    }

    static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    [Fact]
    public void An_updated_output_shows_its_last_value_and_a_failure_is_marked()
    {
        var report = NewReport();
        var output = report.Add("first", "text/plain", 3);
        output.Update("second");
        var html = report.Render(new InvalidOperationException("it broke"));

        Assert.DoesNotContain(">first<", html);
        Assert.Contains("second", html);
        Assert.Contains("✗ failed", html);
        Assert.Contains("InvalidOperationException: it broke", html);
    }

    [Fact]
    public void Write_puts_the_page_where_it_is_asked_to()
    {
        var report = NewReport();
        report.Path = Path.Combine(Path.GetTempPath(), $"script-report-{Guid.NewGuid():N}", "demo.html");
        try
        {
            Assert.Equal(report.Path, report.Write());
            Assert.Contains("<title>demo</title>", File.ReadAllText(report.Path));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(report.Path)!, recursive: true);
        }
    }
}
