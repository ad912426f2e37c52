using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using EfficientML.Pages;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive.Formatting;

namespace EfficientML.Interactive.Scripting;

/// <summary>
/// What a script has shown, in order, written as one self-contained offline HTML page with the look of the runner's
/// executed notebooks (<see cref="PageStyle"/>): plotly.js inline once, then each output drawn by the extension's
/// formatters, as in a notebook. Values are drawn when the page is written, so a live view shows its runs as they ended.
/// </summary>
public sealed class ScriptReport
{
    readonly List<ScriptOutput> _outputs = new();
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly DateTime _started = DateTime.Now;

    internal ScriptReport(string name)
    {
        Name = name;
        Path = DefaultPath(name);
    }

    /// <summary>The script's name.</summary>
    public string Name { get; }

    /// <summary>
    /// Where the page is written: <c>--report PATH</c>, else <c>artifacts/scripts/NAME.html</c> in the repository that holds
    /// the current directory, else <c>NAME.html</c> in the current directory.
    /// </summary>
    public string Path { get; internal set; }

    /// <summary>The options given on the command line, as NAME=VALUE.</summary>
    public List<string> Parameters { get; } = new();

    /// <summary>The outputs so far.</summary>
    public IReadOnlyList<ScriptOutput> Outputs { get { lock (_outputs) return _outputs.ToArray(); } }

    internal ScriptOutput Add(object? value, string? mimeType, int line)
    {
        var output = new ScriptOutput(value, mimeType, line);
        lock (_outputs) _outputs.Add(output);
        return output;
    }

    static string DefaultPath(string name)
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Notebooks.sln")))
                return System.IO.Path.Combine(dir.FullName, "artifacts", "scripts", name + ".html");
        return System.IO.Path.Combine(Environment.CurrentDirectory, name + ".html");
    }

    /// <summary>Writes the page (marked failed with <paramref name="failure"/>'s message when given) and returns its path.</summary>
    public string Write(Exception? failure = null)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temporary = Path + ".tmp";
        File.WriteAllText(temporary, Render(failure), new UTF8Encoding(false));
        File.Move(temporary, Path, overwrite: true);
        return Path;
    }

    /// <summary>The whole page.</summary>
    public string Render(Exception? failure = null)
    {
        var outputs = Outputs;
        var html = new StringBuilder();
        html.Append(PageStyle.Start(Name, "EfficientML script", ChartHtml.PlotlyScript()));
        var status = failure is null
            ? "<span class=\"status ok\">✓ ran to the end</span>"
            : "<span class=\"status failed\">✗ failed</span>";
        var parameters = Parameters.Count == 0 ? "defaults" : string.Join(" ", Parameters);
        html.Append($"""
            <header class="run">
            <div class="file">{Encode(Name)}.cs</div>
            <div>{status} · {outputs.Count} outputs in {_clock.Elapsed.TotalSeconds:0.0} s · script · options: <code>{Encode(parameters)}</code> · {_started:yyyy-MM-dd HH:mm}</div>
            </header>
            <h1>{Encode(Name)}</h1>

            """);
        if (failure is not null)
            html.Append($"<div class=\"failure\"><strong>The script failed</strong><pre>{Encode(failure.GetType().Name + ": " + failure.Message)}</pre></div>\n");
        html.Append("<section class=\"cell code\"><div class=\"outputs\">\n");
        foreach (var output in outputs)
        {
            if (output.Line > 0) html.Append($"<div class=\"head\"><span class=\"label\">line {output.Line}</span></div>\n");
            html.Append("<div class=\"output display\">").Append(output.Html()).Append("</div>\n");
        }
        html.Append("</div></section>\n</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    static string Encode(string text) => WebUtility.HtmlEncode(text);
}

/// <summary>One output of a script: a value (drawn when the report is written) that <see cref="Update"/> can replace, as in a notebook.</summary>
public sealed class ScriptOutput
{
    object? _value;

    internal ScriptOutput(object? value, string? mimeType, int line)
    {
        _value = value;
        MimeType = mimeType;
        Line = line;
    }

    /// <summary>The value shown now.</summary>
    public object? Value => Volatile.Read(ref _value);

    /// <summary>The MIME type it was shown with (null: the formatter's choice).</summary>
    public string? MimeType { get; }

    /// <summary>The script line that showed it (0 when not known).</summary>
    public int Line { get; }

    /// <summary>Shows <paramref name="value"/> in this output's place instead (what a notebook's <c>DisplayedValue.Update</c> does).</summary>
    public void Update(object? value) => Volatile.Write(ref _value, value);

    /// <summary>The output as HTML: text as text, HTML as it is, anything else drawn by its registered formatter.</summary>
    public string Html()
    {
        var value = Value;
        switch (value)
        {
            case null: return "<pre class=\"text\">null</pre>";
            case string html when MimeType == HtmlFormatter.MimeType: return html;
            case string text: return $"<pre class=\"text\">{WebUtility.HtmlEncode(text)}</pre>";
            case IHtmlContent content:
                using (var writer = new StringWriter())
                {
                    content.WriteTo(writer, HtmlEncoder.Default);
                    return writer.ToString();
                }
        }
        try { return value.ToDisplayString(HtmlFormatter.MimeType); }
        catch (Exception e) { return $"<pre class=\"text\">{WebUtility.HtmlEncode(value + " (not drawn: " + e.Message + ")")}</pre>"; }
    }
}
