using Microsoft.DotNet.Interactive.Documents;

namespace NotebookRunner;

/// <summary>What running one notebook produced.</summary>
internal sealed class NotebookRunResult
{
    public required string NotebookPath { get; init; }

    public required string Title { get; init; }

    /// <summary>The notebook as read, with the injected parameters cell; its metadata goes into the output.</summary>
    public required InteractiveDocument Document { get; init; }

    /// <summary>Every cell in order. Locked while outputs change or are written.</summary>
    public required IReadOnlyList<CellRecord> Cells { get; init; }

    public required string BackendName { get; init; }

    public required IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public TimeSpan Duration { get; set; }

    /// <summary>The cell that failed, if one did.</summary>
    public CellRecord? FailedCell { get; set; }

    /// <summary>Why the run failed (a cell, a timeout, the kernel not starting); null when it succeeded.</summary>
    public string? FailureMessage { get; set; }

    public bool Cancelled { get; set; }

    public bool Succeeded => FailureMessage is null;

    public string? IpynbPath { get; set; }

    public string? HtmlPath { get; set; }

    public IEnumerable<CellRecord> CodeCells => Cells.Where(c => c.IsCode);
}
