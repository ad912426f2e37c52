using Markdig;
using Markdig.Renderers;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace NotebookRunner;

/// <summary>Markdown cells to HTML (tables, code, headings with anchors), with local images inlined.</summary>
internal static class MarkdownHtml
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    /// <summary>
    /// Renders <paramref name="markdown"/>. Images referenced by a path relative to <paramref name="baseDirectory"/>
    /// become data URIs, so the page stays self-contained wherever it is copied.
    /// </summary>
    public static string Render(string markdown, string? baseDirectory = null)
    {
        var document = Markdown.Parse(markdown, Pipeline);
        if (baseDirectory is not null)
        {
            foreach (var image in document.Descendants<LinkInline>().Where(l => l.IsImage && l.Url is not null))
            {
                image.Url = InlineLocalImage(image.Url!, baseDirectory) ?? image.Url;
            }
        }

        using var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        Pipeline.Setup(renderer);
        renderer.Render(document);
        writer.Flush();
        return writer.ToString();
    }

    private static string? InlineLocalImage(string url, string baseDirectory)
    {
        if (url.Contains(':') || url.StartsWith('/') || url.StartsWith('#'))
        {
            return null;
        }

        var path = Path.GetFullPath(Path.Combine(baseDirectory, Uri.UnescapeDataString(url.Split('?', '#')[0])));
        var mime = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => "image/png",
            ".jpg" or ".jpeg" => "image/jpeg",
            ".gif" => "image/gif",
            ".svg" => "image/svg+xml",
            ".webp" => "image/webp",
            _ => null,
        };
        return mime is not null && File.Exists(path)
            ? $"data:{mime};base64,{Convert.ToBase64String(File.ReadAllBytes(path))}"
            : null;
    }
}
