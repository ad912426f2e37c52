using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.DotNet.Interactive.Documents;

namespace NotebookRunner;

/// <summary>
/// <c>export &lt;notebook|folder&gt; --to script [--out DIR]</c>: writes each notebook as a .NET 10 file-based app
/// (<c>dotnet run NAME.cs</c>). Markdown becomes <c>//</c> comments and code cells code; the first cell (which loads the
/// extension) becomes <c>ScriptHost.Start</c>, the parameters cell command-line options, and every magic line the C#
/// its magic declares (each magic's command class implements the extension's <c>ICSharpEquivalent</c>: nothing here
/// knows a magic by name). A cell's last expression, which a notebook displays, is displayed; using directives move to
/// the top and type declarations to the end, where a file of top-level statements needs them.
/// </summary>
internal static partial class ScriptExport
{
    /// <summary>The variable holding the script's host in every exported script.</summary>
    public const string HostVariable = "scriptHost";

    /// <summary>Where the exported scripts of a notebook folder go by default: its <c>scripts/</c> subfolder.</summary>
    public static string DefaultOutputDirectory(string notebooksFolder) => Path.Combine(notebooksFolder, "scripts");

    /// <summary>The script file for <paramref name="notebook"/> in <paramref name="outputDirectory"/>.</summary>
    public static string ScriptPathFor(string notebook, string outputDirectory) =>
        Path.Combine(outputDirectory, Path.GetFileNameWithoutExtension(notebook) + ".cs");

    /// <summary>Writes one script per notebook and returns their paths; an untranslatable cell stops with an <see cref="ExportException"/>.</summary>
    public static IReadOnlyList<string> Export(IReadOnlyList<string> notebooks, string outputDirectory, Func<string, string> translateMagic, TextWriter log)
    {
        Directory.CreateDirectory(outputDirectory);
        var written = new List<string>();
        foreach (var notebook in notebooks)
        {
            var path = ScriptPathFor(notebook, outputDirectory);
            var text = Render(notebook, outputDirectory, translateMagic);
            var temporary = path + ".tmp";
            File.WriteAllText(temporary, text, new UTF8Encoding(false));
            File.Move(temporary, path, overwrite: true);
            log.WriteLine($"{Path.GetFileName(notebook)} → {Path.GetRelativePath(Environment.CurrentDirectory, path)}");
            written.Add(path);
        }

        return written;
    }

    /// <summary>The script for <paramref name="notebook"/> as it would be written to <paramref name="outputDirectory"/>.</summary>
    /// <param name="notebook">The .ipynb or .dib.</param>
    /// <param name="outputDirectory">Where the script goes (its #:project paths are relative to it).</param>
    /// <param name="translateMagic">A magic line's C# equivalent (<see cref="LoadTranslator"/>).</param>
    /// <param name="repositoryRoot">The repository the #:project paths point into (default: the one holding the notebook).</param>
    public static string Render(string notebook, string outputDirectory, Func<string, string> translateMagic, string? repositoryRoot = null)
    {
        var document = NotebookFile.Read(notebook);
        var name = Path.GetFileNameWithoutExtension(notebook);
        var root = repositoryRoot ?? RepositoryLayout.FindRepositoryRoot(Path.GetDirectoryName(Path.GetFullPath(notebook))!)
                   ?? throw new ExportException($"{notebook} is not inside the repository (no Notebooks.sln above it): the script's #:project paths need it.");
        string Relative(string path) => Path.GetRelativePath(Path.GetFullPath(outputDirectory), Path.Combine(root, path)).Replace('\\', '/');

        var usings = new List<string>();
        var types = new List<string>();
        var body = new StringBuilder();
        int parametersCell = ParameterInjection.FindParametersCell(document);
        bool started = false;
        for (int index = 0; index < document.Elements.Count; index++)
        {
            var element = document.Elements[index];
            var code = element.Contents.Replace("\r\n", "\n").TrimEnd();
            var cell = $"cell {index + 1}";
            if (NotebookFile.IsMarkdown(element))
            {
                body.Append(Comment(code)).Append("\n\n");
                continue;
            }

            if (code.Length == 0)
            {
                continue;
            }

            if (!started)
            {
                if (!code.Contains("NotebookExtension.Load(", StringComparison.Ordinal))
                {
                    throw new ExportException($"{name}, {cell}: the first code cell must load the extension (NotebookExtension.Load); a script starts with ScriptHost.Start in its place.");
                }

                body.Append($"// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).\n");
                body.Append($"var {HostVariable} = ScriptHost.Start({Literal(name)}, args);\n\n");
                started = true;
                if (parametersCell < 0)
                {
                    body.Append($"{HostVariable}.EndOptions();\n\n");
                }

                continue;
            }

            if (index == parametersCell)
            {
                body.Append("// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).\n");
                body.Append(Parameters(code, name, cell)).Append($"{HostVariable}.EndOptions();\n\n");
                continue;
            }

            var translated = Code(code, name, cell, translateMagic, usings, types);
            if (translated.Trim().Length > 0)
            {
                body.Append(translated).Append("\n\n");
            }
        }

        if (!started)
        {
            throw new ExportException($"{name}: no code cell loads the extension (NotebookExtension.Load).");
        }

        body.Append($"{HostVariable}.Finish();\n");

        var script = new StringBuilder();
        script.Append($"// {NotebookFile.Title(document, notebook)}: the notebook {Path.GetFileName(notebook)} as a .NET file-based app.\n");
        script.Append($"// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.\n");
        var self = Path.GetRelativePath(root, Path.GetFullPath(ScriptPathFor(notebook, outputDirectory))).Replace('\\', '/');
        script.Append($"// Run from the repository's root: dotnet run {self} -- --quick   (--help lists the options; the HTML report's path is printed at the end)\n");
        script.Append($"#:project {Relative("lib/EfficientML/EfficientML.csproj")}\n");
        script.Append($"#:project {Relative("kernel-extensions/EfficientML.Interactive/EfficientML.Interactive.csproj")}\n");
        script.Append("#:package Microsoft.DotNet.Interactive\n");
        script.Append("#:package Microsoft.DotNet.Interactive.Formatting\n");
        script.Append("#:property PublishAot=false\n");
        script.Append("#:property TreatWarningsAsErrors=false\n");
        script.Append("#:property GenerateDocumentationFile=false\n\n");
        var all = new SortedSet<string>(StandardUsings, StringComparer.Ordinal);
        foreach (var u in usings)
        {
            all.Add(u);
        }

        foreach (var u in all.OrderBy(u => u.StartsWith("using static", StringComparison.Ordinal)).ThenBy(u => u, StringComparer.Ordinal))
        {
            script.Append(u).Append('\n');
        }

        script.Append('\n').Append(body);
        if (types.Count > 0)
        {
            script.Append("\n// Types the notebook declares (a file of top-level statements declares them after the statements).\n");
            foreach (var type in types)
            {
                script.Append(type).Append("\n\n");
            }
        }

        return script.ToString().TrimEnd() + "\n";
    }

    /// <summary>What every script imports: the library's namespaces, the extension's, and the script host's <c>display</c>.</summary>
    private static readonly string[] StandardUsings =
    [
        "using EfficientML.Audio;", "using EfficientML.Cloning;", "using EfficientML.Clustering;", "using EfficientML.Core;",
        "using EfficientML.Export;", "using EfficientML.Interactive;", "using EfficientML.Interactive.Scripting;",
        "using EfficientML.KeywordSpotting;", "using EfficientML.Models;", "using EfficientML.Pipeline;", "using EfficientML.Reparam;", "using EfficientML.Routing;",
        "using EfficientML.Speculative;", "using EfficientML.Text;", "using TorchSharp;",
        "using static EfficientML.Interactive.Scripting.ScriptHost;",
    ];

    private static string Comment(string markdown) =>
        string.Join("\n", markdown.Split('\n').Select(line => line.Length == 0 ? "//" : "// " + line));

    /// <summary>The parameters cell as options: <c>bool quick = false; // …</c> → <c>bool quick = scriptHost.Option("quick", false); // …</c>.</summary>
    internal static string Parameters(string code, string name, string cell)
    {
        var result = new StringBuilder();
        foreach (var line in code.Split('\n'))
        {
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith("//", StringComparison.Ordinal))
            {
                result.Append(line).Append('\n');
                continue;
            }

            var match = ParameterLine().Match(line);
            if (!match.Success)
            {
                throw new ExportException($"{name}, {cell} (parameters): '{line.Trim()}' is not one declaration with a default, such as `int steps = 100;`.");
            }

            var type = match.Groups["type"].Value;
            var value = match.Groups["value"].Value.Trim();
            var option = type == "var" ? "Option" : $"Option<{type}>";
            result.Append($"{match.Groups["indent"].Value}{type} {match.Groups["name"].Value} = {HostVariable}.{option}({Literal(match.Groups["name"].Value)}, {value});{match.Groups["rest"].Value}\n");
        }

        return result.ToString();
    }

    [GeneratedRegex(@"^(?<indent>\s*)(?<type>[A-Za-z_][\w.<>?\[\], ]*?)\s+(?<name>[A-Za-z_]\w*)\s*=\s*(?<value>[^;]+);(?<rest>.*)$")]
    private static partial Regex ParameterLine();

    /// <summary>One code cell: magic lines translated, usings and types taken out, its last expression displayed.</summary>
    internal static string Code(string code, string name, string cell, Func<string, string> translateMagic, List<string> usings, List<string> types)
    {
        var lines = new StringBuilder();
        foreach (var line in code.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed is "#!csharp" or "#!c#" or "#!C#")
            {
                continue;
            }

            if (trimmed.StartsWith("#r ", StringComparison.Ordinal) || trimmed.StartsWith("#i ", StringComparison.Ordinal))
            {
                throw new ExportException($"{name}, {cell}: '{trimmed}' loads a package or assembly, which a script does with #:package or #:project; move it to the first cell or write the C# without it.");
            }

            if (trimmed.StartsWith("#!", StringComparison.Ordinal))
            {
                var magic = trimmed.Split(' ', 2)[0];
                string translated;
                try
                {
                    translated = translateMagic(trimmed);
                }
                catch (Exception e)
                {
                    throw new ExportException($"{name}, {cell}: {magic} cannot be exported: {e.Message}", e);
                }

                lines.Append($"// {trimmed}\n{translated}\n");
                continue;
            }

            lines.Append(line).Append('\n');
        }

        var text = lines.ToString();
        var tree = CSharpSyntaxTree.ParseText(text, new CSharpParseOptions(LanguageVersion.Preview, kind: SourceCodeKind.Script));
        var root = (CompilationUnitSyntax)tree.GetRoot();
        var edits = new List<(TextSpanLike Span, string Replacement)>();
        foreach (var directive in root.Usings)
        {
            var u = directive.ToString().Trim();
            if (!u.Contains("Microsoft.DotNet.Interactive", StringComparison.Ordinal))
            {
                usings.Add(u);
            }

            edits.Add((new(directive.FullSpan.Start, directive.FullSpan.End), ""));
        }

        foreach (var member in root.Members)
        {
            if (member is BaseTypeDeclarationSyntax or DelegateDeclarationSyntax or BaseNamespaceDeclarationSyntax)
            {
                types.Add(member.ToString().Trim());
                edits.Add((new(member.FullSpan.Start, member.FullSpan.End), "\n"));
            }
        }

        if (root.Members.LastOrDefault() is GlobalStatementSyntax { Statement: ExpressionStatementSyntax { SemicolonToken.IsMissing: true } last })
        {
            edits.Add((new(last.Expression.Span.Start, last.Expression.Span.End), $"display({last.Expression});"));
        }

        foreach (var (span, replacement) in edits.OrderByDescending(e => e.Span.Start))
        {
            text = text[..span.Start] + replacement + text[span.End..];
        }

        return text.Trim('\n').TrimEnd();
    }

    private readonly record struct TextSpanLike(int Start, int End);

    internal static string Literal(string text) => SymbolDisplay.FormatLiteral(text, quote: true);

    /// <summary>
    /// The extension's magic translation (<c>EfficientML.Interactive.Scripting.MagicTranslation.ToCSharp</c>), loaded from
    /// its build output (<c>artifacts/extension</c>) as a notebook loads it: the runner never references the extension.
    /// </summary>
    public static Func<string, string> LoadTranslator(string repositoryRoot)
    {
        var path = Path.Combine(repositoryRoot, "artifacts", "extension", "EfficientML.Interactive.dll");
        if (!File.Exists(path))
        {
            throw new ExportException($"{path} is missing: build the extension first (dotnet build kernel-extensions/EfficientML.Interactive).");
        }

        var assembly = Assembly.LoadFrom(path);
        var method = assembly.GetType("EfficientML.Interactive.Scripting.MagicTranslation", throwOnError: true)!
                             .GetMethod("ToCSharp", [typeof(string)])
                     ?? throw new ExportException($"{path} has no MagicTranslation.ToCSharp(string): rebuild the extension.");
        return line =>
        {
            try
            {
                return (string)method.Invoke(null, [line])!;
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        };
    }
}

/// <summary>A notebook that cannot be exported as it is; the message names the notebook, the cell and what to change.</summary>
internal sealed class ExportException(string message, Exception? inner = null) : Exception(message, inner);
