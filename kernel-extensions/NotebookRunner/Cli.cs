using System.Runtime.InteropServices;

namespace NotebookRunner;

/// <summary>
/// <c>run &lt;notebook|folder&gt; [--out DIR] [--param NAME=VALUE …] [--backend inprocess|tool] [--cell-timeout SECONDS]</c>.
/// Exit codes: 0 all notebooks succeeded, 1 a cell failed, 2 bad usage, 130 cancelled.
/// </summary>
internal static class Cli
{
    public const int Succeeded = 0;
    public const int Failed = 1;
    public const int BadUsage = 2;
    public const int Cancelled = 130;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["-h" or "--help" or "help", ..] or ["run" or "export", "-h" or "--help"])
        {
            stdout.WriteLine(CommandLine.Help);
            return Succeeded;
        }

        if (args is ["export", ..])
        {
            return Export(args, stdout, stderr);
        }

        using var cancel = new CancellationTokenSource();
        // The first Ctrl+C / SIGTERM / SIGHUP stops cleanly: the kernel's process tree is killed and the partial
        // results are written. A second one kills the tool kernels at once and lets the signal end the process.
        void OnSignal(PosixSignalContext context)
        {
            if (cancel.IsCancellationRequested)
            {
                ToolBackend.KillAll();
                return;
            }

            context.Cancel = true;
            cancel.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
        try
        {
            var (notebooks, options) = CommandLine.Parse(args, Environment.CurrentDirectory);
            return await RunNotebooksAsync(notebooks, options, stdout, cancel.Token);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            stderr.WriteLine(CommandLine.Usage);
            return BadUsage;
        }
    }

    /// <summary><c>export … --to script</c>: 0 written, 1 a notebook cannot be exported, 2 bad usage.</summary>
    public static int Export(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var (notebooks, output) = CommandLine.ParseExport(args, Environment.CurrentDirectory);
            var root = RepositoryLayout.FindRepositoryRoot(output) ?? RepositoryLayout.FindRepositoryRoot(notebooks[0])
                       ?? throw new ExportException("the notebooks are not inside the repository (no Notebooks.sln above them)");
            ScriptExport.Export(notebooks, output, ScriptExport.LoadTranslator(root), stdout);
            return Succeeded;
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            stderr.WriteLine(CommandLine.Usage);
            return BadUsage;
        }
        catch (ExportException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return Failed;
        }
    }

    /// <summary>Runs notebooks in order, stopping at the first failure; prints progress and a summary.</summary>
    public static async Task<int> RunNotebooksAsync(
        IReadOnlyList<string> notebooks,
        RunOptions options,
        TextWriter log,
        CancellationToken cancellationToken)
    {
        var results = new List<NotebookRunResult>();
        foreach (var notebook in notebooks)
        {
            NotebookRunResult result;
            try
            {
                result = await NotebookExecution.RunAsync(notebook, options, log, cancellationToken);
            }
            catch (InvalidDataException e)
            {
                log.WriteLine($"✗ {e.Message}");
                return Failed;
            }

            results.Add(result);
            if (!result.Succeeded)
            {
                break;
            }
        }

        log.WriteLine();
        log.WriteLine("Summary:");
        foreach (var r in results)
        {
            var mark = r.Succeeded ? "✓" : "✗";
            var ran = r.CodeCells.Count(c => c.State != CellState.NotRun);
            log.WriteLine($"  {mark} {Path.GetFileName(r.NotebookPath)}  {ran}/{r.CodeCells.Count()} code cells  " +
                          $"{NotebookExecution.FormatDuration(r.Duration)}  → {Relative(r.HtmlPath!)}");
        }

        var skipped = notebooks.Count - results.Count;
        if (skipped > 0)
        {
            log.WriteLine($"  {skipped} notebook(s) not run after the failure");
        }

        var failed = results.FirstOrDefault(r => !r.Succeeded);
        if (failed is null)
        {
            log.WriteLine($"All {results.Count} notebook(s) succeeded in {NotebookExecution.FormatDuration(TimeSpan.FromTicks(results.Sum(r => r.Duration.Ticks)))}.");
            return Succeeded;
        }

        log.WriteLine();
        log.WriteLine(FailureReport(failed));
        return failed.Cancelled ? Cancelled : Failed;
    }

    /// <summary>Names the failing cell by number and first line, with the error and where the partial results are.</summary>
    public static string FailureReport(NotebookRunResult failed)
    {
        var where = failed.FailedCell is { } cell
            ? $"{failed.Cancelled switch { true => "cancelled at", false => "failed at" }} {cell.Label}: {cell.FirstLine}"
            : failed.Cancelled ? "cancelled" : "failed";
        var message = string.Join("\n", ErrorText.Summary(failed.FailureMessage!).Split('\n').Select(l => "    " + l));
        return $"FAILED: {Path.GetFileName(failed.NotebookPath)} {where}\n{message}\n" +
               $"  partial results: {Relative(failed.IpynbPath!)}, {Relative(failed.HtmlPath!)}";
    }

    private static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
