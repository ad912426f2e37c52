namespace EfficientML.Pages;

/// <summary>
/// The look of every page this project writes: the runner's executed notebooks and a script's report. One file, compiled
/// into both (the runner never references the extension), so the two cannot drift apart.
/// </summary>
internal static class PageStyle
{
    /// <summary>
    /// A page's start, up to and including <c>&lt;main&gt;</c>: its title (HTML-encoded), the generator named in its
    /// metadata, the style, and <paramref name="headExtra"/> (e.g. plotly.js) at the end of the head.
    /// </summary>
    public static string Start(string title, string generator, string headExtra = "") => $$"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="{{System.Net.WebUtility.HtmlEncode(generator)}}">
        <title>{{System.Net.WebUtility.HtmlEncode(title)}}</title>
        <style>{{Css}}</style>
        {{headExtra}}
        </head>
        <body>
        <main>

        """;

    public const string Css = """

        :root { --fg: #1f2328; --muted: #656d76; --border: #d0d7de; --code-bg: #f6f8fa; --red: #cf222e; --red-bg: #ffebe9; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #fff; color: var(--fg);
               font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
        main { max-width: 1000px; margin: 0 auto; padding: 28px 32px 80px; }
        h1, h2, h3, h4 { line-height: 1.25; margin: 1.4em 0 .5em; }
        h1 { font-size: 2em; border-bottom: 1px solid var(--border); padding-bottom: .3em; }
        h2 { font-size: 1.5em; border-bottom: 1px solid #eaeef2; padding-bottom: .25em; }
        a { color: #0969da; }
        pre, code { font-family: ui-monospace, SFMono-Regular, "Cascadia Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace; }
        pre { font-size: 13.5px; line-height: 1.45; overflow-x: auto; }
        img, svg { max-width: 100%; }
        header.run { color: var(--muted); font-size: 14px; border-bottom: 1px solid var(--border); padding-bottom: 10px; margin-bottom: 8px; }
        header.run .file { font-weight: 600; color: var(--fg); }
        header.run code { font-size: 13px; }
        .status.ok { color: #1a7f37; font-weight: 600; }
        .status.failed { color: var(--red); font-weight: 600; }
        .failure { background: var(--red-bg); border: 1px solid #ffcecb; border-radius: 6px; padding: 10px 14px; margin: 16px 0; color: var(--red); }
        .failure pre { margin: 6px 0 0; white-space: pre-wrap; }
        .cell { margin: 18px 0; }
        .markdown table { border-collapse: collapse; margin: 12px 0; }
        .markdown th, .markdown td { border: 1px solid var(--border); padding: 5px 12px; }
        .markdown th { background: var(--code-bg); }
        .markdown code { background: rgba(175, 184, 193, .2); padding: .15em .35em; border-radius: 4px; font-size: 88%; }
        .markdown pre { background: var(--code-bg); padding: 12px 16px; border-radius: 6px; }
        .markdown pre code { background: none; padding: 0; font-size: inherit; }
        .markdown blockquote { margin: 0; padding: 0 1em; color: var(--muted); border-left: 4px solid var(--border); }
        .code .head { display: flex; gap: 10px; font: 12px/1.4 ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; color: var(--muted); margin-bottom: 3px; }
        .code .head .time { margin-left: auto; }
        pre.source { margin: 0; white-space: pre-wrap; word-break: break-word; background: var(--code-bg); border: 1px solid var(--border); border-radius: 6px; padding: 10px 14px; }
        .code.injected pre.source { background: #fff8c5; border-color: #d4a72c; }
        .code.failed pre.source { border-color: var(--red); }
        .code.failed .head .time { color: var(--red); }
        .code.not-run { opacity: .5; }
        .outputs { margin-top: 6px; padding-left: 12px; border-left: 3px solid #e4e8ec; }
        .output { margin: 6px 0; overflow-x: auto; }
        .output pre.text { margin: 0; white-space: pre-wrap; word-break: break-word; }
        /* The kernel's own object views (tree view, plain-text values) do not wrap; long summaries and values wrap here. */
        .output .dni-treeview, .output .dni-code-hint { white-space: normal !important; }
        .output .dni-code-hint code, .output .dni-plaintext pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
        .output.stderr pre { color: #9a6700; }
        .output.error { background: var(--red-bg); border: 1px solid #ffcecb; border-radius: 6px; padding: 8px 12px; }
        .output.error pre { color: var(--red); }
        .tok-comment { color: #6e7781; font-style: italic; }
        .tok-string { color: #0a3069; }
        .tok-keyword { color: #cf222e; }
        .tok-number { color: #0550ae; }
        .tok-directive { color: #8250df; }

        """;
}
