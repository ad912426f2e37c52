using Microsoft.DotNet.Interactive.Documents;
using NotebookRunner;

namespace Notebooks.Tests;

public sealed class ParameterInjectionTests : IDisposable
{
    private readonly TempNotebooks _temp = new();

    public void Dispose() => _temp.Dispose();

    private static KeyValuePair<string, string>[] Params(params (string Name, string Value)[] values) =>
        values.Select(v => new KeyValuePair<string, string>(v.Name, v.Value)).ToArray();

    [Fact]
    public void Parameters_are_injected_after_the_tagged_cell()
    {
        var path = _temp.Ipynb("p.ipynb",
            TempNotebooks.Markdown("# Title"),
            TempNotebooks.Code("var setup = 1;"),
            TempNotebooks.Code("bool quick = false;", "parameters"),
            TempNotebooks.Code("Console.WriteLine(quick);"));
        var document = NotebookFile.Read(path);

        var index = ParameterInjection.Inject(document, Params(("quick", "true")), _ => { });

        Assert.Equal(3, index);
        var injected = document.Elements[3];
        Assert.Contains(ParameterInjection.InjectedTag, NotebookFile.Tags(injected));
        Assert.Equal("csharp", injected.KernelName);
        Assert.Contains("bool quick = true;", injected.Contents);
        Assert.Equal("Console.WriteLine(quick);", document.Elements[4].Contents);
    }

    [Fact]
    public void Injected_values_take_the_type_declared_in_the_parameters_cell()
    {
        var declared = ParameterInjection.DeclaredParameters(
            "bool quick = false;\nint steps = 100;\ndouble rate = 3e-4;\nstring corpus = \"moby\";\nfloat scale = 1f;\nlong seed = 1, other = 2;\nvar inferred = 5;");

        var code = ParameterInjection.BuildCode(
            Params(("quick", "True"), ("steps", "7"), ("rate", "1"), ("corpus", "42"), ("scale", "0.5"), ("seed", "9"), ("inferred", "2.5")),
            declared,
            warning => Assert.Fail(warning));

        Assert.Contains("bool quick = true;", code);
        Assert.Contains("int steps = 7;", code);
        Assert.Contains("double rate = 1.0;", code);
        Assert.Contains("string corpus = \"42\";", code);
        Assert.Contains("float scale = 0.5f;", code);
        Assert.Contains("long seed = 9L;", code);
        Assert.Contains("double inferred = 2.5;", code);
    }

    [Theory]
    [InlineData("true", "bool x = true;")]
    [InlineData("false", "bool x = false;")]
    [InlineData("12", "int x = 12;")]
    [InlineData("-3", "int x = -3;")]
    [InlineData("12345678901", "long x = 12345678901L;")]
    [InlineData("0.25", "double x = 0.25;")]
    [InlineData("1e-3", "double x = 0.001;")]
    [InlineData("cuda:0", "string x = \"cuda:0\";")]
    public void Undeclared_values_get_an_inferred_type(string value, string expected)
    {
        var warnings = new List<string>();

        var code = ParameterInjection.BuildCode(Params(("x", value)), new Dictionary<string, string>(), warnings.Add);

        Assert.Contains(expected, code.Split('\n'));
        Assert.Contains(warnings, w => w.Contains("'x'") && w.Contains("not declared"));
    }

    [Fact]
    public void String_values_are_escaped_as_CSharp_literals()
    {
        var value = "say \"hi\"\\path\nnext\ttab é";

        var line = ParameterInjection.Declaration("text", value, "string");

        Assert.Equal("string text = \"say \\\"hi\\\"\\\\path\\nnext\\ttab é\";", line);
    }

    [Fact]
    public void The_last_value_given_for_a_name_wins()
    {
        var code = ParameterInjection.BuildCode(Params(("steps", "1"), ("steps", "2")), new Dictionary<string, string> { ["steps"] = "int" }, _ => { });

        Assert.Equal(["// Injected parameters", "int steps = 2;"], code.Split('\n'));
    }

    [Theory]
    [InlineData("quick", "maybe", "bool")]
    [InlineData("steps", "1.5", "int")]
    [InlineData("rate", "fast", "double")]
    public void A_value_that_does_not_fit_the_declared_type_is_rejected(string name, string value, string type)
    {
        var error = Assert.Throws<ArgumentException>(() => ParameterInjection.Declaration(name, value, type));

        Assert.Contains($"'{name}' is declared {type}", error.Message);
    }

    [Fact]
    public void A_parameter_name_must_be_a_CSharp_identifier()
    {
        Assert.Throws<ArgumentException>(() => ParameterInjection.Declaration("not-a-name", "1", "var"));
        Assert.Throws<ArgumentException>(() => ParameterInjection.Declaration("class", "1", "var"));
    }

    [Fact]
    public void A_dib_parameters_cell_is_found_by_its_first_line_comment()
    {
        var path = _temp.Dib("p.dib", ("markdown", "# Title"), ("csharp", "var a = 1;"), ("csharp", "// parameters\nbool quick = false;"));
        var document = NotebookFile.Read(path);

        Assert.Equal(2, ParameterInjection.FindParametersCell(document));
        Assert.Equal(3, ParameterInjection.Inject(document, Params(("quick", "true")), _ => { }));
    }

    [Fact]
    public void Without_a_parameters_cell_the_values_go_first_with_a_warning()
    {
        var document = new InteractiveDocument([new InteractiveDocumentElement("Console.WriteLine(1);", "csharp", [])]);
        var warnings = new List<string>();

        var index = ParameterInjection.Inject(document, Params(("quick", "true")), warnings.Add);

        Assert.Equal(0, index);
        Assert.Contains(warnings, w => w.Contains("no cell is tagged 'parameters'"));
    }

    [Fact]
    public void Only_top_level_declarations_count_as_parameters()
    {
        var declared = ParameterInjection.DeclaredParameters("bool quick = false; // fast\nvoid F() { int local = 1; }\nFunc<int, int> f = x => { var y = x; return y; };");

        Assert.Equal(["f", "quick"], declared.Keys.Order());
        Assert.Equal("bool", declared["quick"]);
    }
}
