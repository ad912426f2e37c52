using System.Diagnostics;
using System.Globalization;

namespace NotebookRunner;

/// <summary>Runs one notebook cell by cell and writes the executed .ipynb and the HTML page, also after a failure.</summary>
internal static class NotebookExecution
{
    private const string Interrupted = "interrupted (Ctrl+C or a termination signal)";

    public static async Task<NotebookRunResult> RunAsync(
        string notebookPath,
        RunOptions options,
        TextWriter log,
        CancellationToken cancellationToken)
    {
        notebookPath = Path.GetFullPath(notebookPath);
        // Resolved now: the in-process back end changes the current directory while cells run.
        var outputDirectory = Path.GetFullPath(options.OutputDirectory);
        var result = Prepare(notebookPath, options, log);
        var toRun = result.CodeCells.Where(c => !string.IsNullOrWhiteSpace(c.Code)).ToList();
        log.WriteLine($"▶ {Path.GetFileName(notebookPath)}: {toRun.Count} code cells, {result.BackendName}" +
                      (options.Parameters.Count > 0 ? $", {string.Join(" ", options.Parameters.Select(p => $"{p.Key}={p.Value}"))}" : ""));

        var total = Stopwatch.StartNew();
        var backend = CreateBackend(options.Backend);
        try
        {
            await backend.StartAsync(Path.GetDirectoryName(notebookPath)!, cancellationToken);
            for (var i = 0; i < toRun.Count; i++)
            {
                var cell = toRun[i];
                log.Write($"  [{i + 1}/{toRun.Count}] {cell.Label}: {cell.FirstLine} …");
                cell.ExecutionCount = i + 1;
                var outcome = await RunCellAsync(backend, result.Cells, cell, options.CellTimeout, cancellationToken);
                cell.State = outcome.Succeeded ? CellState.Succeeded : CellState.Failed;
                log.WriteLine($" {FormatDuration(cell.Duration)}{(outcome.Succeeded ? "" : " FAILED")}");
                if (!outcome.Succeeded)
                {
                    Fail(result, cell, outcome.ErrorMessage ?? "the cell failed");
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            log.WriteLine(" interrupted");
            result.Cancelled = true;
            if (toRun.FirstOrDefault(c => c.ExecutionCount > 0 && c.State == CellState.NotRun) is { } running)
            {
                Fail(result, running, Interrupted);
            }
            else
            {
                result.FailureMessage = Interrupted;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            // The kernel could not start.
            log.WriteLine();
            result.FailureMessage = $"the {backend.Name} failed to start: {e.Message}";
        }
        finally
        {
            // Before writing: this kills the tool's process tree and restores the current directory.
            await backend.DisposeAsync();
        }

        result.Duration = total.Elapsed;
        WriteOutputs(result, outputDirectory);
        return result;
    }

    /// <summary>The executed notebook's path for an output folder.</summary>
    public static string IpynbPathFor(string notebookPath, string outputDirectory) =>
        Path.Combine(Path.GetFullPath(outputDirectory), Path.GetFileNameWithoutExtension(notebookPath) + ".ipynb");

    public static string FormatDuration(TimeSpan duration) => duration.TotalSeconds switch
    {
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.0} s"),
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0} s"),
        _ => $"{(int)duration.TotalMinutes} min {duration.Seconds} s",
    };

    /// <summary>Reads the notebook, injects the parameters and numbers the cells as the notebook shows them.</summary>
    private static NotebookRunResult Prepare(string notebookPath, RunOptions options, TextWriter log)
    {
        var document = NotebookFile.Read(notebookPath);
        var injectedIndex = -1;
        if (options.Parameters.Count > 0)
        {
            try
            {
                injectedIndex = ParameterInjection.Inject(document, options.Parameters,
                    warning => log.WriteLine($"warning: {Path.GetFileName(notebookPath)}: {warning}"));
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
        }

        var cells = new List<CellRecord>();
        for (int i = 0, number = 1; i < document.Elements.Count; i++)
        {
            cells.Add(new CellRecord(document.Elements[i], i == injectedIndex ? null : number++));
        }

        return new NotebookRunResult
        {
            NotebookPath = notebookPath,
            Title = NotebookFile.Title(document, notebookPath),
            Document = document,
            Cells = cells,
            BackendName = options.Backend == BackendKind.Tool ? ToolBackend.DisplayName : InProcessBackend.DisplayName,
            Parameters = options.Parameters,
            StartedAt = DateTimeOffset.Now,
        };
    }

    private static async Task<CellOutcome> RunCellAsync(
        IKernelBackend backend,
        IReadOnlyList<CellRecord> cells,
        CellRecord cell,
        TimeSpan? timeout,
        CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
        {
            limit.CancelAfter(t);
        }

        var clock = Stopwatch.StartNew();
        var collector = new OutputCollector(cells, cell);
        try
        {
            return await backend.RunCellAsync(cell.Code, cell.KernelName, collector, limit.Token);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return CellOutcome.Failure($"timed out after {FormatDuration(timeout!.Value)} (--cell-timeout)");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A fault of the kernel itself rather than of the cell's code: still this cell's failure.
            return CellOutcome.Failure($"the kernel failed while running this cell: {e}");
        }
        finally
        {
            cell.Duration = clock.Elapsed;
            // An abandoned in-process cell may still be producing output; from here on it goes nowhere.
            collector.Close();
        }
    }

    private static void Fail(NotebookRunResult result, CellRecord cell, string message)
    {
        lock (result.Cells)
        {
            cell.State = CellState.Failed;
            cell.ErrorMessage = message;
            result.FailedCell = cell;
            result.FailureMessage = message;
            if (!cell.Outputs.Any(o => o.Kind == OutputKind.Error && o.PlainText == message))
            {
                cell.Outputs.Add(CellOutput.Text(OutputKind.Error, message));
            }
        }
    }

    private static void WriteOutputs(NotebookRunResult result, string outputDirectory)
    {
        Directory.CreateDirectory(outputDirectory);
        result.IpynbPath = IpynbPathFor(result.NotebookPath, outputDirectory);
        result.HtmlPath = Path.ChangeExtension(result.IpynbPath, ".html");
        lock (result.Cells)
        {
            NotebookFile.WriteIpynb(ExecutedDocument.Build(result), result.IpynbPath);
            File.WriteAllText(result.HtmlPath, HtmlPage.Render(result));
        }
    }

    private static IKernelBackend CreateBackend(BackendKind kind) => kind switch
    {
        BackendKind.Tool => new ToolBackend(),
        _ => new InProcessBackend(),
    };
}
