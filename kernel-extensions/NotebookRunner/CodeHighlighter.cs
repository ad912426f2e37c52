using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace NotebookRunner;

/// <summary>
/// Light C# highlighting for code cells (comments, strings, keywords, numbers, #r/#! directives) so pages read
/// like the editor; a page may not load a highlighting library from a CDN.
/// </summary>
internal static partial class CodeHighlighter
{
    public static string ToHtml(string code, string kernelName)
    {
        if (kernelName is not ("csharp" or "C#" or "c#"))
        {
            return WebUtility.HtmlEncode(code);
        }

        var html = new StringBuilder();
        var position = 0;
        foreach (Match token in Token().Matches(code))
        {
            html.Append(WebUtility.HtmlEncode(code[position..token.Index]));
            var kind = new[] { "comment", "string", "directive", "keyword", "number" }.First(k => token.Groups[k].Success);
            html.Append($"<span class=\"tok-{kind}\">{WebUtility.HtmlEncode(token.Value)}</span>");
            position = token.Index + token.Length;
        }

        html.Append(WebUtility.HtmlEncode(code[position..]));
        return html.ToString();
    }

    [GeneratedRegex("""
        (?<comment>//[^\n]*|/\*[\s\S]*?\*/)
        |(?<string>\$?@"(?:[^"]|"")*"|\$?"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])+')
        |(?<directive>^[ \t]*\#[!a-z][^\n]*)
        |(?<keyword>\b(?:abstract|as|async|await|base|bool|break|byte|case|catch|char|class|const|continue|decimal|default|do|double|else|enum|false|finally|float|for|foreach|if|in|init|int|interface|internal|is|long|new|null|object|out|override|params|private|protected|public|readonly|record|ref|return|sealed|short|static|string|struct|switch|this|throw|true|try|typeof|uint|ulong|using|var|void|when|while|with|yield)\b)
        |(?<number>\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[fFdDmMlL]?\b)
        """, RegexOptions.Multiline | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex Token();
}
