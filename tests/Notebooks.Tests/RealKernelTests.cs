using NotebookRunner;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>
/// The real dotnet-interactive tool (restored from the repository's tool manifest): what VS Code runs. Slower (the
/// tool starts in a few seconds), so CI can run it as its own step: <c>--filter Category=RealKernel</c>.
/// </summary>
[Trait("Category", "RealKernel")]
public sealed class RealKernelTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempNotebooks _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_tiny_notebook_runs_through_the_real_dotnet_interactive_tool()
    {
        var notebook = _temp.Ipynb("tool.ipynb",
            TempNotebooks.Markdown("# Through the tool"),
            TempNotebooks.Code("bool quick = false;", "parameters"),
            TempNotebooks.Code("Console.WriteLine($\"quick={quick}\");\nSystem.IO.Directory.GetCurrentDirectory()"),
            TempNotebooks.Code("display(HTML(\"<i>from the tool</i>\"));"),
            TempNotebooks.Code("throw new Exception(\"expected failure\");"));

        var result = await Runs.RunAsync(notebook, _temp.Output, output, BackendKind.Tool, parameters: ("quick", "true"));

        Assert.Equal(5, result.FailedCell?.Number);
        Assert.Contains("expected failure", result.FailureMessage);
        var cells = Runs.ExecutedCells(result);
        Assert.Contains("quick=True", Runs.OutputText(cells[3]!));
        Assert.Contains(_temp.Folder, Runs.OutputText(cells[3]!));
        Assert.Contains("<i>from the tool</i>", Runs.OutputText(cells[4]!));
        Assert.Empty(KernelProcessesFor(_temp.Folder));
    }

    /// <summary>dotnet-interactive processes started for this folder (the runner passes it as --working-dir).</summary>
    private static List<string> KernelProcessesFor(string folder)
    {
        var found = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            return found;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains("dotnet-interactive", StringComparison.OrdinalIgnoreCase) || commandLine.Contains("Interactive.App", StringComparison.Ordinal))
                {
                    if (commandLine.Contains(folder, StringComparison.Ordinal))
                    {
                        found.Add(commandLine);
                    }
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
