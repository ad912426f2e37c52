using NotebookRunner;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>Every notebook in the repository's notebooks/ folder runs in quick mode through the in-process back end.</summary>
public sealed partial class RepositoryNotebooksTests(ITestOutputHelper output)
{
    private const string NoneFound = "(no notebooks yet)";

    private static string NotebooksFolder =>
        Path.Combine(RepositoryLayout.FindRepositoryRoot(AppContext.BaseDirectory)
                     ?? throw new InvalidOperationException("Notebooks.sln not found above the test assembly"),
                     "notebooks");

    private static IReadOnlyList<string> Notebooks() =>
        Directory.Exists(NotebooksFolder)
            ? Directory.EnumerateFiles(NotebooksFolder).Where(NotebookFile.IsNotebook).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>The notebooks found when the tests are discovered; one placeholder row when there are none (xunit rejects an empty theory).</summary>
    public static TheoryData<string> NotebookNames()
    {
        var names = Notebooks();
        return new TheoryData<string>(names.Count > 0 ? names : [NoneFound]);
    }

    [Fact]
    public void The_notebooks_folder_is_listed()
    {
        Assert.True(Directory.Exists(NotebooksFolder), $"{NotebooksFolder} is missing");
        var names = Notebooks();
        output.WriteLine(names.Count == 0
            ? $"No notebooks in {NotebooksFolder}: the notebook theories have nothing to run."
            : $"{names.Count} notebook(s) in {NotebooksFolder}:\n  {string.Join("\n  ", names)}");
    }

    [Theory]
    [MemberData(nameof(NotebookNames))]
    public void Every_notebook_declares_quick_in_its_parameters_cell(string name)
    {
        if (name == NoneFound)
        {
            return;
        }

        var document = NotebookFile.Read(Path.Combine(NotebooksFolder, name));
        var cell = ParameterInjection.FindParametersCell(document);

        Assert.True(cell >= 0, $"{name} has no cell tagged 'parameters'");
        var declared = ParameterInjection.DeclaredParameters(document.Elements[cell].Contents);
        Assert.True(declared.TryGetValue("quick", out var type), $"{name}'s parameters cell does not declare quick");
        Assert.Equal("bool", type);
    }

    [Theory]
    [MemberData(nameof(NotebookNames))]
    public void Every_notebook_tells_jupyter_its_cells_are_csharp_and_keeps_polyglot_metadata(string name)
    {
        if (name == NoneFound)
        {
            return;
        }

        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(NotebooksFolder, name)));
        var metadata = json.RootElement.GetProperty("metadata");
        var language = metadata.GetProperty("language_info");
        Assert.Equal("C#", language.GetProperty("name").GetString());
        Assert.Equal("csharp", language.GetProperty("pygments_lexer").GetString());
        Assert.Equal(".net-csharp", metadata.GetProperty("kernelspec").GetProperty("name").GetString());
        Assert.Equal("csharp", metadata.GetProperty("polyglot_notebook").GetProperty("kernelInfo").GetProperty("defaultKernelName").GetString());
    }

    [Theory]
    [MemberData(nameof(NotebookNames))]
    public async Task Every_notebook_runs_in_quick_mode(string name)
    {
        if (name == NoneFound)
        {
            output.WriteLine($"No notebooks in {NotebooksFolder} yet.");
            return;
        }

        var outputFolder = Path.Combine(Path.GetTempPath(), "notebooks-tests", "executed");
        var result = await Runs.RunAsync(Path.Combine(NotebooksFolder, name), outputFolder, output, parameters: ("quick", "true"));

        output.WriteLine($"pages: {result.HtmlPath}");
        Assert.True(result.Succeeded, result.Succeeded ? "" : Cli.FailureReport(result));
        AssertSelfChecksShowNumbers(name, result);
    }

    /// <summary>
    /// A self-check cell (one that defines <c>Check(bool ok, string what)</c>) prints the figures it checked; a comparison
    /// with NaN is false either way round, so a check written as "not worse than" would pass on a NaN. None may show one.
    /// </summary>
    private static void AssertSelfChecksShowNumbers(string name, NotebookRunResult result)
    {
        var checkCells = result.CodeCells.Where(c => c.Code.Contains("void Check(", StringComparison.Ordinal)).ToList();
        Assert.True(checkCells.Count > 0, $"{name} has no self-check cell (one that defines void Check(bool ok, string what))");
        foreach (var cell in checkCells)
        {
            var text = string.Join("\n", cell.Outputs.Select(o => o.PlainText));
            Assert.True(text.Contains('✓'), $"{name} {cell.Label}: the self-check cell printed no passed check");
            var bad = NotANumber().Match(text);
            Assert.False(bad.Success, $"{name} {cell.Label}: a self-check printed '{bad.Value}':\n{text}");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bNaN\b|-?∞|\b-?Infinity\b")]
    private static partial System.Text.RegularExpressions.Regex NotANumber();
}
