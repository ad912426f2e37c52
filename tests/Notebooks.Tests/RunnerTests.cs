using NotebookRunner;
using Xunit.Abstractions;

namespace Notebooks.Tests;

public sealed class RunnerTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempNotebooks _temp = new();

    public void Dispose() => _temp.Dispose();

    private string TinyNotebook() => _temp.Ipynb("tiny.ipynb",
        TempNotebooks.Markdown("# Tiny notebook\n\nSome *words* and a table:\n\n| metric | value |\n|---|---|\n| loss | 1.5 |"),
        TempNotebooks.Code("bool quick = false;\nstring label = \"default\";", "parameters"),
        TempNotebooks.Code("Console.WriteLine($\"quick is {quick}, label is {label}\");"),
        TempNotebooks.Code("display(HTML(\"<b id='shown'>displayed html</b>\"));"),
        TempNotebooks.Code("6 * 7"));

    [Fact]
    public async Task Markdown_and_outputs_appear_in_the_page()
    {
        var result = await Runs.RunAsync(TinyNotebook(), _temp.Output, output, parameters: ("quick", "true"));

        Assert.True(result.Succeeded, result.FailureMessage);
        var html = File.ReadAllText(result.HtmlPath!);
        Assert.Contains("<title>Tiny notebook</title>", html);
        Assert.Contains("<h1 id=\"tiny-notebook\">Tiny notebook</h1>", html);
        Assert.Contains("<em>words</em>", html);
        Assert.Contains("<th>metric</th>", html);
        Assert.Contains("quick is True, label is default", html);
        Assert.Contains("<b id='shown'>displayed html</b>", html);
        Assert.Matches(@"<div class=""output display"">.*42", html);
        Assert.Contains("class=\"cell code injected\"", html);
        Assert.DoesNotContain("cdn", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_executed_notebook_carries_outputs_and_execution_counts()
    {
        var result = await Runs.RunAsync(TinyNotebook(), _temp.Output, output, parameters: ("label", "from the command line"));

        Assert.True(result.Succeeded, result.FailureMessage);
        var cells = Runs.ExecutedCells(result);
        Assert.Equal(6, cells.Count);
        Assert.Equal("markdown", (string?)cells[0]!["cell_type"]);
        Assert.Equal([1, 2, 3, 4, 5], cells.Skip(1).Select(c => (int)c!["execution_count"]!));
        Assert.Equal("injected-parameters", (string?)cells[2]!["metadata"]!["tags"]![0]);
        Assert.Contains("quick is False, label is from the command line", Runs.OutputText(cells[3]!));
        Assert.Equal("display_data", (string?)cells[4]!["outputs"]![0]!["output_type"]);
        Assert.Equal("execute_result", (string?)cells[5]!["outputs"]![0]!["output_type"]);
        Assert.Contains("42", Runs.OutputText(cells[5]!));
    }

    [Fact]
    public async Task A_failing_cell_fails_the_run_naming_the_cell_and_keeps_partial_outputs()
    {
        var notebook = _temp.Ipynb("failing.ipynb",
            TempNotebooks.Code("bool quick = false;", "parameters"),
            TempNotebooks.Code("Console.WriteLine(\"before the failure\");"),
            TempNotebooks.Code("var model = \"tiny\";\nthrow new InvalidOperationException(\"the model is missing\");"),
            TempNotebooks.Code("Console.WriteLine(\"never printed\");"));
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = await Cli.RunAsync(["run", notebook, "--out", _temp.Output, "--param", "quick=true"], stdout, stderr);

        output.WriteLine(stdout.ToString());
        Assert.Equal(Cli.Failed, exit);
        Assert.Contains("failed at cell 3: var model = \"tiny\";", stdout.ToString());
        Assert.Contains("the model is missing", stdout.ToString());
        var html = File.ReadAllText(Path.Combine(_temp.Output, "failing.html"));
        Assert.Contains("before the failure", html);
        Assert.Contains("class=\"output error\"", html);
        Assert.Contains("class=\"cell code not-run\"", html);
        var cells = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(_temp.Output, "failing.ipynb")))!["cells"]!.AsArray();
        Assert.Equal("error", (string?)cells[3]!["outputs"]![0]!["output_type"]);
        Assert.Equal("System.InvalidOperationException", (string?)cells[3]!["outputs"]![0]!["ename"]);
        Assert.Empty(cells[4]!["outputs"]!.AsArray());
    }

    [Fact]
    public async Task A_compile_error_fails_the_run_with_the_compiler_message()
    {
        var notebook = _temp.Ipynb("typo.ipynb", TempNotebooks.Code("int x = \"text\";"));

        var result = await Runs.RunAsync(notebook, _temp.Output, output);

        Assert.False(result.Succeeded);
        Assert.Equal(1, result.FailedCell?.Number);
        Assert.Contains("CS0029", result.FailureMessage);
    }

    [Fact]
    public async Task Dib_notebooks_run_like_ipynb()
    {
        var notebook = _temp.Dib("tiny.dib",
            ("markdown", "# A dib notebook"),
            ("csharp", "// parameters\nint steps = 10;"),
            ("csharp", "Console.WriteLine($\"steps={steps}\");\nsteps * 2"));

        var result = await Runs.RunAsync(notebook, _temp.Output, output, parameters: ("steps", "4"));

        Assert.True(result.Succeeded, result.FailureMessage);
        Assert.Equal(Path.Combine(_temp.Output, "tiny.ipynb"), result.IpynbPath);
        var cells = Runs.ExecutedCells(result);
        Assert.Equal("int steps = 4;", ((string)cells[2]!["source"]![1]!).Trim());
        Assert.Contains("steps=4", Runs.OutputText(cells[3]!));
        Assert.Contains("8", Runs.OutputText(cells[3]!));
        Assert.Contains("<h1 id=\"a-dib-notebook\">A dib notebook</h1>", File.ReadAllText(result.HtmlPath!));
        AssertJupyterSeesCSharp(result.IpynbPath!);
    }

    [Fact]
    public async Task The_executed_notebook_names_its_language_csharp_for_jupyter_where_polyglot_wrote_its_own_name()
    {
        var result = await Runs.RunAsync(TinyNotebook(), _temp.Output, output);

        Assert.True(result.Succeeded, result.FailureMessage);
        AssertJupyterSeesCSharp(result.IpynbPath!);
    }

    /// <summary>nbconvert and JupyterLab highlight by language_info; Polyglot's own kernel metadata stays.</summary>
    private static void AssertJupyterSeesCSharp(string ipynb)
    {
        var metadata = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(ipynb))!["metadata"]!;
        Assert.Equal("C#", (string?)metadata["language_info"]!["name"]);
        Assert.Equal("csharp", (string?)metadata["language_info"]!["pygments_lexer"]);
        Assert.Equal("csharp", (string?)metadata["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]);
    }

    [Fact]
    public async Task Display_updates_replace_the_earlier_output_even_from_a_later_cell()
    {
        var notebook = _temp.Ipynb("live.ipynb",
            TempNotebooks.Code("using Microsoft.DotNet.Interactive;\nvar shown = KernelInvocationContext.Current.Display(\"step 1\", \"text/plain\");\nshown.Update(\"step 2\");"),
            TempNotebooks.Code("shown.Update(\"final step\");"));

        var result = await Runs.RunAsync(notebook, _temp.Output, output);

        Assert.True(result.Succeeded, result.FailureMessage);
        var first = Assert.Single(result.Cells[0].Outputs);
        Assert.Equal("final step", first.PlainText);
        Assert.Empty(result.Cells[1].Outputs);
    }

    [Fact]
    public async Task Cells_run_in_the_notebook_folder_and_the_directory_is_restored()
    {
        var before = Environment.CurrentDirectory;
        var notebook = _temp.Ipynb("cwd.ipynb", TempNotebooks.Code("System.IO.Directory.GetCurrentDirectory()"));

        var result = await Runs.RunAsync(notebook, _temp.Output, output);

        Assert.Equal(_temp.Folder, result.Cells[0].Outputs.Single().PlainText);
        Assert.Equal(before, Environment.CurrentDirectory);
    }

    [Fact]
    public async Task A_cell_that_runs_too_long_fails_the_run_naming_the_cell()
    {
        var notebook = _temp.Ipynb("slow.ipynb",
            TempNotebooks.Code("var ready = true;"),
            TempNotebooks.Code("System.Threading.Thread.Sleep(20_000);"));

        var result = await Runs.RunAsync(notebook, _temp.Output, output, cellTimeout: TimeSpan.FromSeconds(3));

        Assert.False(result.Succeeded);
        Assert.Equal(2, result.FailedCell?.Number);
        Assert.Contains("timed out", result.FailureMessage);
        Assert.True(File.Exists(result.HtmlPath));
    }

    [Fact]
    public async Task A_folder_runs_every_notebook_in_name_order()
    {
        _temp.Dib("b.dib", ("csharp", "Console.WriteLine(\"second\");"));
        _temp.Ipynb("a.ipynb", TempNotebooks.Code("Console.WriteLine(\"first\");"));
        var stdout = new StringWriter();

        var exit = await Cli.RunAsync(["run", _temp.Folder, "--out", _temp.Output], stdout, new StringWriter());

        output.WriteLine(stdout.ToString());
        Assert.Equal(Cli.Succeeded, exit);
        var log = stdout.ToString();
        Assert.True(log.IndexOf("a.ipynb", StringComparison.Ordinal) < log.IndexOf("b.dib", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(_temp.Output, "a.html")));
        Assert.True(File.Exists(Path.Combine(_temp.Output, "b.html")));
    }

    [Theory]
    [InlineData(new string[0], "expected the verb 'run'")]
    [InlineData(new[] { "execute", "x.ipynb" }, "unknown verb 'execute'")]
    [InlineData(new[] { "run" }, "no notebook or folder given")]
    [InlineData(new[] { "run", "missing.ipynb" }, "does not exist")]
    [InlineData(new[] { "run", "{folder}", "--backend", "jupyter" }, "--backend must be 'inprocess' or 'tool'")]
    [InlineData(new[] { "run", "{folder}", "--param", "quick" }, "--param expects NAME=VALUE")]
    [InlineData(new[] { "run", "{folder}", "--cell-timeout", "soon" }, "--cell-timeout expects seconds")]
    [InlineData(new[] { "run", "{folder}", "--colour" }, "unknown option '--colour'")]
    [InlineData(new[] { "run", "{folder}", "--out" }, "--out needs a value")]
    [InlineData(new[] { "run", "{folder}", "--param", "quick=maybe" }, "'quick' is declared bool")]
    public async Task Bad_usage_exits_with_code_2_and_one_clear_message(string[] args, string message)
    {
        _temp.Ipynb("n.ipynb", TempNotebooks.Code("bool quick = false;", "parameters"));
        var stderr = new StringWriter();

        var exit = await Cli.RunAsync(args.Select(a => a.Replace("{folder}", _temp.Folder)).ToArray(), new StringWriter(), stderr);

        Assert.Equal(Cli.BadUsage, exit);
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(message, lines[0]);
        Assert.StartsWith("usage: ", lines[1]);
    }

    [Fact]
    public async Task Help_prints_the_usage_and_succeeds()
    {
        var stdout = new StringWriter();

        var exit = await Cli.RunAsync(["--help"], stdout, new StringWriter());

        Assert.Equal(Cli.Succeeded, exit);
        Assert.StartsWith("usage: ", stdout.ToString());
    }

    [Fact]
    public void Error_summaries_drop_stack_frames()
    {
        var summary = ErrorText.Summary("System.Exception: boom\n   at Submission#3.<<Initialize>>d__0.MoveNext()\n--- End of stack trace ---");

        Assert.Equal("System.Exception: boom", summary);
    }
}
