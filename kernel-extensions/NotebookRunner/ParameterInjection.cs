using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.DotNet.Interactive.Documents;

namespace NotebookRunner;

/// <summary>
/// Papermill-style parameters: the cell tagged <c>parameters</c> (or, in .dib files, whose first line is
/// <c>// parameters</c>) holds the defaults; the runner inserts a cell tagged <c>injected-parameters</c> right
/// after it that redeclares the values given on the command line (C# scripts allow redeclaration).
/// </summary>
internal static class ParameterInjection
{
    public const string ParametersTag = "parameters";
    public const string InjectedTag = "injected-parameters";
    private const string ParametersComment = "// parameters";

    /// <summary>Index of the parameters cell, or -1.</summary>
    public static int FindParametersCell(InteractiveDocument document)
    {
        var elements = document.Elements;
        for (var i = 0; i < elements.Count; i++)
        {
            if (!NotebookFile.IsMarkdown(elements[i]) && NotebookFile.Tags(elements[i]).Contains(ParametersTag))
            {
                return i;
            }
        }

        // .dib has no cell metadata: a first-line comment marks the cell instead (accepted in .ipynb too).
        for (var i = 0; i < elements.Count; i++)
        {
            var firstLine = elements[i].Contents.TrimStart().Split('\n')[0].Trim();
            if (!NotebookFile.IsMarkdown(elements[i]) &&
                string.Equals(string.Join(' ', firstLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)), ParametersComment, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Variables the parameters cell declares, with their declared C# type ("var" when inferred).</summary>
    public static IReadOnlyDictionary<string, string> DeclaredParameters(string code)
    {
        var tree = CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(kind: SourceCodeKind.Script));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var declaration in tree.GetRoot().DescendantNodes().OfType<VariableDeclarationSyntax>())
        {
            // Only top-level declarations are parameters, not locals of lambdas or methods.
            if (declaration.Parent is not (FieldDeclarationSyntax or LocalDeclarationStatementSyntax { Parent: GlobalStatementSyntax }))
            {
                continue;
            }

            foreach (var variable in declaration.Variables)
            {
                result.TryAdd(variable.Identifier.ValueText, declaration.Type.ToString());
            }
        }

        return result;
    }

    /// <summary>
    /// Inserts the injected cell after the parameters cell (at the top when there is none) and returns its index.
    /// Warnings (unknown names, missing parameters cell) go to <paramref name="warn"/>.
    /// </summary>
    public static int Inject(
        InteractiveDocument document,
        IReadOnlyList<KeyValuePair<string, string>> parameters,
        Action<string> warn)
    {
        var parametersCell = FindParametersCell(document);
        var declared = parametersCell >= 0
            ? DeclaredParameters(document.Elements[parametersCell].Contents)
            : new Dictionary<string, string>();
        if (parametersCell < 0)
        {
            warn("no cell is tagged 'parameters'; injecting the parameters at the top");
        }

        var kernelName = parametersCell >= 0 ? document.Elements[parametersCell].KernelName ?? "csharp" : "csharp";
        var code = BuildCode(parameters, declared, warn);
        var injected = new InteractiveDocumentElement(code, kernelName, [])
        {
            Id = InjectedTag,
            Metadata = new Dictionary<string, object> { ["tags"] = new[] { InjectedTag } },
        };
        document.Elements.Insert(parametersCell + 1, injected);
        return parametersCell + 1;
    }

    /// <summary>C# declarations for the given values: one line per parameter, last value of a name wins.</summary>
    public static string BuildCode(
        IReadOnlyList<KeyValuePair<string, string>> parameters,
        IReadOnlyDictionary<string, string> declared,
        Action<string> warn)
    {
        var lines = new List<string> { "// Injected parameters" };
        var order = new List<string>();
        var lastValues = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in parameters)
        {
            if (lastValues.TryAdd(name, value))
            {
                order.Add(name);
            }

            lastValues[name] = value;
        }

        foreach (var name in order)
        {
            var value = lastValues[name];
            if (!declared.TryGetValue(name, out var declaredType))
            {
                warn($"parameter '{name}' is not declared in the parameters cell; injecting it anyway");
                declaredType = "var";
            }

            lines.Add(Declaration(name, value, declaredType));
        }

        return string.Join("\n", lines);
    }

    /// <summary>One declaration; throws <see cref="ArgumentException"/> when the value cannot have the declared type.</summary>
    public static string Declaration(string name, string value, string declaredType)
    {
        if (!SyntaxFacts.IsValidIdentifier(name) || SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None)
        {
            throw new ArgumentException($"--param {name}=…: '{name}' is not a valid C# variable name");
        }

        var (type, literal) = declaredType == "var" ? Infer(value) : (declaredType, Convert(name, value, declaredType));
        return $"{type} {name} = {literal};";
    }

    private static (string Type, string Literal) Infer(string value)
    {
        if (bool.TryParse(value, out var b))
        {
            return ("bool", b ? "true" : "false");
        }

        if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            return ("int", i.ToString(CultureInfo.InvariantCulture));
        }

        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return ("long", l.ToString(CultureInfo.InvariantCulture) + "L");
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return ("double", DoubleLiteral(d));
        }

        return ("string", StringLiteral(value));
    }

    private static string Convert(string name, string value, string declaredType)
    {
        var type = declaredType.Replace(" ", "");
        var nullable = type.EndsWith('?');
        type = nullable ? type[..^1] : type;
        if (nullable && value == "null")
        {
            return "null";
        }

        string Fail(string expected) =>
            throw new ArgumentException($"--param {name}={value}: '{name}' is declared {declaredType}; expected {expected}");

        const NumberStyles Integer = NumberStyles.AllowLeadingSign;
        const NumberStyles Real = NumberStyles.Float;
        var inv = CultureInfo.InvariantCulture;
        return type switch
        {
            "bool" or "Boolean" or "System.Boolean" =>
                bool.TryParse(value, out var b) ? (b ? "true" : "false") : Fail("true or false"),
            "int" or "Int32" or "System.Int32" =>
                int.TryParse(value, Integer, inv, out var i) ? i.ToString(inv) : Fail("a whole number"),
            "long" or "Int64" or "System.Int64" =>
                long.TryParse(value, Integer, inv, out var l) ? l.ToString(inv) + "L" : Fail("a whole number"),
            "double" or "Double" or "System.Double" =>
                double.TryParse(value, Real, inv, out var d) && double.IsFinite(d) ? DoubleLiteral(d) : Fail("a number"),
            "float" or "Single" or "System.Single" =>
                float.TryParse(value, Real, inv, out var f) && float.IsFinite(f) ? f.ToString("R", inv) + "f" : Fail("a number"),
            "decimal" or "Decimal" or "System.Decimal" =>
                decimal.TryParse(value, Real, inv, out var m) ? m.ToString(inv) + "m" : Fail("a number"),
            "string" or "String" or "System.String" => StringLiteral(value),
            // Any other declared type (an enum, a TimeSpan…): the value is a C# expression, e.g. Device.Cpu.
            _ => value,
        };
    }

    private static string DoubleLiteral(double d)
    {
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') ? text : text + ".0";
    }

    private static string StringLiteral(string value) =>
        SymbolDisplay.FormatLiteral(value, quote: true);
}
