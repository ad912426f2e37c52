using NotebookRunner;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>Every notebook in the repository's notebooks/ folder runs in quick mode through the in-process back end.</summary>
public sealed class RepositoryNotebooksTests(ITestOutputHelper output)
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
    }
}
