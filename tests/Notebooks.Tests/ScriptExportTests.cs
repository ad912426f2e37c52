using NotebookRunner;

namespace Notebooks.Tests;

/// <summary>
/// <c>export --to script</c>: the committed scripts in notebooks/scripts are what the exporter writes from today's notebooks,
/// and the pieces of a cell's translation (magics, parameters, last expressions, usings, types) behave as documented.
/// </summary>
public sealed class ScriptExportTests
{
    internal static string Root => RepositoryLayout.FindRepositoryRoot(AppContext.BaseDirectory)
                                   ?? throw new InvalidOperationException("Notebooks.sln not found above the test assembly");

    internal static string NotebooksFolder => Path.Combine(Root, "notebooks");

    internal static string ScriptsFolder => ScriptExport.DefaultOutputDirectory(NotebooksFolder);

    private static readonly Lazy<Func<string, string>> Translator = new(() => ScriptExport.LoadTranslator(Root));

    public static TheoryData<string> NotebookNames() =>
        new(Directory.EnumerateFiles(NotebooksFolder, "*.ipynb").Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(NotebookNames))]
    public void Every_exported_script_is_up_to_date_with_its_notebook(string name)
    {
        var notebook = Path.Combine(NotebooksFolder, name);
        var script = ScriptExport.ScriptPathFor(notebook, ScriptsFolder);
        Assert.True(File.Exists(script), $"{script} is missing: run `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`.");
        var expected = ScriptExport.Render(notebook, ScriptsFolder, Translator.Value);
        Assert.True(expected == File.ReadAllText(script),
            $"{Path.GetFileName(script)} is older than {name}: run `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script` and commit the result.");
    }

    [Fact]
    public void Every_script_in_the_scripts_folder_has_a_notebook()
    {
        foreach (var script in Directory.EnumerateFiles(ScriptsFolder, "*.cs"))
            Assert.True(File.Exists(Path.Combine(NotebooksFolder, Path.GetFileNameWithoutExtension(script) + ".ipynb")), $"{script} has no notebook: delete it.");
    }

    [Fact]
    public void A_script_starts_its_host_reads_its_options_and_refers_to_the_projects_relative_to_itself()
    {
        using var temp = new TempNotebooks();
        var notebook = temp.Ipynb("demo.ipynb",
            TempNotebooks.Markdown("# Demo\n\nSome *prose*."),
            TempNotebooks.Code("#r \"../artifacts/extension/EfficientML.Interactive.dll\"\nEfficientML.Interactive.NotebookExtension.Load(Microsoft.DotNet.Interactive.Kernel.Root);"),
            TempNotebooks.Code("bool quick = false;   // fast\nint steps = 100;", "parameters"),
            TempNotebooks.Code("using Microsoft.DotNet.Interactive;\nusing System.Text;\nvar x = steps * 2;\nx"));
        var output = Path.Combine(Root, "artifacts", "export-tests", "out");
        var script = ScriptExport.Render(notebook, output, _ => throw new InvalidOperationException("no magics here"), Root);

        Assert.Contains("#:project ../../../lib/EfficientML/EfficientML.csproj\n", script);
        Assert.Contains("#:project ../../../kernel-extensions/EfficientML.Interactive/EfficientML.Interactive.csproj\n", script);
        Assert.Contains("#:property PublishAot=false\n", script);
        Assert.Contains("// # Demo\n//\n// Some *prose*.\n", script);
        Assert.Contains("var scriptHost = ScriptHost.Start(\"demo\", args);", script);
        Assert.Contains("bool quick = scriptHost.Option<bool>(\"quick\", false);   // fast\n", script);
        Assert.Contains("int steps = scriptHost.Option<int>(\"steps\", 100);\n", script);
        Assert.Contains("scriptHost.EndOptions();", script);
        Assert.Contains("using System.Text;\n", script);
        Assert.DoesNotContain("using Microsoft.DotNet.Interactive;", script);
        Assert.DoesNotContain("#r ", script);
        Assert.Contains("display(x);", script);
        Assert.EndsWith("scriptHost.Finish();\n", script);
    }

    [Fact]
    public void A_cells_last_expression_is_displayed_and_its_types_move_after_the_statements()
    {
        var usings = new List<string>();
        var types = new List<string>();
        var code = ScriptExport.Code("using System.IO;\nrecord Point(int X, int Y);\nvar p = new Point(1, 2);\nnew { p.X, Sum = p.X + p.Y }", "demo", "cell 3",
            _ => throw new InvalidOperationException(), usings, types);

        Assert.Equal(["using System.IO;"], usings);
        Assert.Equal(["record Point(int X, int Y);"], types);
        Assert.DoesNotContain("record Point", code);
        Assert.EndsWith("display(new { p.X, Sum = p.X + p.Y });", code);
    }

    [Fact]
    public void A_cell_that_ends_in_a_statement_or_a_method_is_left_as_it_is()
    {
        var code = ScriptExport.Code("var a = 1;\nvoid Check(bool ok) { }\nCheck(a == 1);", "demo", "cell 3", _ => "", [], []);
        Assert.Equal("var a = 1;\nvoid Check(bool ok) { }\nCheck(a == 1);", code);
    }

    [Fact]
    public void A_magic_line_becomes_its_csharp_equivalent_under_a_comment_that_quotes_it()
    {
        var code = ScriptExport.Code("#!model --pretrained --name tiny", "demo", "cell 4", Translator.Value, [], []);
        Assert.Equal("// #!model --pretrained --name tiny\nvar tiny = PretrainedModels.LoadTinyMoby();\ndisplay(tiny);", code);
    }

    [Fact]
    public void A_magic_that_cannot_be_translated_is_an_error_naming_the_notebook_the_cell_and_the_magic()
    {
        var e = Assert.Throws<ExportException>(() => ScriptExport.Code("var a = 1;\n#!nosuchmagic --x 1", "demo", "cell 7", Translator.Value, [], []));
        Assert.StartsWith("demo, cell 7: #!nosuchmagic cannot be exported:", e.Message);
        Assert.Contains("not a magic of this extension", e.Message);

        var refused = Assert.Throws<ExportException>(() => ScriptExport.Code("#!route --model tiny --text \"Call me\"", "demo", "cell 9", Translator.Value, [], []));
        Assert.StartsWith("demo, cell 9: #!route cannot be exported: #!route --text: no C# translation", refused.Message);
    }

    [Fact]
    public void A_reference_to_a_package_in_a_later_cell_is_an_export_error()
    {
        var e = Assert.Throws<ExportException>(() => ScriptExport.Code("#r \"nuget: Foo, 1.0\"", "demo", "cell 5", _ => "", [], []));
        Assert.Contains("demo, cell 5", e.Message);
        Assert.Contains("#:package", e.Message);
    }

    [Fact]
    public void A_parameters_cell_that_is_not_declarations_is_an_export_error()
    {
        var e = Assert.Throws<ExportException>(() => ScriptExport.Parameters("Console.WriteLine(1);", "demo", "cell 2"));
        Assert.Contains("demo, cell 2 (parameters)", e.Message);
    }

    [Fact]
    public void Export_without_to_script_is_a_usage_error()
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(Cli.BadUsage, Cli.Export(["export", NotebooksFolder], stdout, stderr));
        Assert.Contains("export needs --to script", stderr.ToString());
        Assert.Equal(Cli.BadUsage, Cli.Export(["export", NotebooksFolder, "--to", "python"], stdout, stderr));
    }
}
